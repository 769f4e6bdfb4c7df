-- Sentiment heads trained on this deployment's own corrections (`earshot train-head
-- --from-corrections`). The head file is kept whole in the database, so that every
-- process sharing it (`serve`, `classify`, workers on other machines when on Postgres)
-- uses the same head, and keeps using it after a restart, with no file to copy around.
-- Every candidate is kept, activated or not, with the evaluation that decided it. The
-- active head for an encoder is its most recently activated one; a config that names
-- `[sentiment] head` explicitly takes precedence over it.

CREATE TABLE sentiment_heads (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    head_id       TEXT NOT NULL,      -- the head's version id, as in model keys (+head:<id>)
    encoder       TEXT NOT NULL,      -- the model key of the encoder it reads, e.g. earshot/e5-small-sentiment@1
    head          TEXT NOT NULL,      -- the head file (JSON), as train-head made it
    evaluation    TEXT NOT NULL,      -- JSON: how it scored against the head in use then
    trained_at    INTEGER NOT NULL,
    activated_at  INTEGER             -- NULL: trained, but kept back
);

CREATE INDEX sentiment_heads_active ON sentiment_heads (encoder, activated_at);
