-- The support day, third part: media in conversations. A message's attachment (what it
-- carries besides text: a photo, a PDF, a voice note, a location, shared contacts) is JSON on
-- the message; the files themselves are kept under the data directory, named by their SHA-256,
-- and this table follows each one from Meta's media id to a file (inbound) or from a file to
-- Meta's media id (outbound).
ALTER TABLE messages ADD COLUMN attachment TEXT;

CREATE TABLE media (
    id              BIGSERIAL PRIMARY KEY,
    -- the message it belongs to (one attachment per message in WhatsApp)
    message_id      BIGINT NOT NULL UNIQUE,
    conversation_id BIGINT NOT NULL,
    number_id       TEXT NOT NULL,
    -- inbound | outbound
    direction       TEXT NOT NULL,
    -- Meta's media id: from the webhook (inbound), from the upload (outbound)
    meta_id         TEXT,
    kind            TEXT NOT NULL,
    mime_type       TEXT,
    filename        TEXT,
    -- the file's SHA-256 in hex, its name under data/media/; NULL until it is here
    sha256          TEXT,
    size            BIGINT,
    -- pending | ready | failed
    state           TEXT NOT NULL,
    error           TEXT,
    attempts        BIGINT NOT NULL DEFAULT 0,
    -- a pending download is tried again from then (also a claim: a relay working on it moves it)
    next_try_at     BIGINT NOT NULL,
    created_at      BIGINT NOT NULL
);
CREATE INDEX media_to_fetch ON media (state, next_try_at);
-- Whether another message still shows a file, before a deleted one's file goes.
CREATE INDEX media_by_file ON media (sha256);
