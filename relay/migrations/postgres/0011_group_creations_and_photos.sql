-- Group creations asked of WhatsApp, and group photos set through Switchboard.
-- Groups asked of WhatsApp. A linked device makes one at once; the Cloud API answers a request
-- id and tells the outcome later in `group_lifecycle_update` (group_create, with the group id or
-- errors such as 131211), so the request is kept until then and a failure can be shown.
CREATE TABLE group_creations (
    request_id   TEXT PRIMARY KEY,
    number_id    TEXT NOT NULL,
    subject      TEXT NOT NULL,
    requested_by TEXT,
    requested_at BIGINT NOT NULL,
    -- requested | created | failed
    state        TEXT NOT NULL DEFAULT 'requested',
    group_id     TEXT,
    error        TEXT
);
CREATE INDEX group_creations_number ON group_creations (number_id, requested_at);

-- The photo set through Switchboard (SHA-256 of the JPEG kept under the data directory).
ALTER TABLE groups ADD COLUMN photo_sha TEXT;
