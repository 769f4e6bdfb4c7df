-- Brands and sources made through the admin API, beside those from the config file.
-- A config sync retires what left the file but never touches what the API made; and a
-- brand, like a source, is retired rather than deleted, so its mentions stay.

-- config or api
ALTER TABLE brands ADD COLUMN origin TEXT NOT NULL DEFAULT 'config';
ALTER TABLE sources ADD COLUMN origin TEXT NOT NULL DEFAULT 'config';
-- set when the brand is retired: no new mentions are matched for it
ALTER TABLE brands ADD COLUMN retired_at BIGINT;
