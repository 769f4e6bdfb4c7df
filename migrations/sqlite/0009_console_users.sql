-- The web console's people and sessions. A user signs in with a username and password
-- (made with `earshot users create`); a session may also belong to an API key that was
-- used to sign in. Sessions are rows, not process memory, so that several API servers
-- behind one load balancer share them and a restart signs nobody out.

CREATE TABLE console_users (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    username       TEXT NOT NULL UNIQUE,
    role           TEXT NOT NULL,      -- admin, pr, marketing or viewer (as API keys)
    password_hash  TEXT NOT NULL,      -- argon2id, PHC string format; never the password
    created_at     INTEGER NOT NULL,
    disabled_at    INTEGER             -- set: the user can no longer sign in
);

CREATE TABLE console_sessions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash  TEXT NOT NULL UNIQUE,  -- hex SHA-256 of the cookie's token; the token is never stored
    csrf_token  TEXT NOT NULL,         -- sent back in every form; useless without the cookie
    user_id     INTEGER REFERENCES console_users (id) ON DELETE CASCADE,
    key_id      INTEGER REFERENCES api_keys (id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    CHECK ((user_id IS NULL) <> (key_id IS NULL))
);

CREATE INDEX console_sessions_expiry ON console_sessions (expires_at);
