-- Contacts as a marketing list, templates, segments and broadcasts.

-- A contact's tags (normalised, comma-separated, as conversation labels), typed custom
-- attributes (JSON object of shared::segment::AttrValue), marketing consent, last message times
-- and the business numbers it talks to (comma-separated phone-number ids).
ALTER TABLE contacts ADD COLUMN tags TEXT NOT NULL DEFAULT '';
ALTER TABLE contacts ADD COLUMN attributes TEXT NOT NULL DEFAULT '{}';
ALTER TABLE contacts ADD COLUMN opted_in BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE contacts ADD COLUMN opted_out_at BIGINT;
ALTER TABLE contacts ADD COLUMN last_inbound_at BIGINT;
ALTER TABLE contacts ADD COLUMN last_outbound_at BIGINT;
ALTER TABLE contacts ADD COLUMN numbers TEXT NOT NULL DEFAULT '';

-- The time zone a number's schedules are written in, and the business portfolio whose
-- messaging limit (unique users per moving 24 h) its business-initiated sends share.
ALTER TABLE numbers ADD COLUMN time_zone TEXT NOT NULL DEFAULT 'UTC';
ALTER TABLE numbers ADD COLUMN portfolio TEXT NOT NULL DEFAULT 'default';

-- Small settings: opt-out keywords and their confirmation.
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE segments (
    id          BIGSERIAL PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    expression  TEXT NOT NULL,
    created_by  BIGINT,
    created_at  BIGINT NOT NULL
);

-- Each WABA's templates as Meta last described them.
CREATE TABLE templates (
    waba_id     TEXT NOT NULL,
    name        TEXT NOT NULL,
    language    TEXT NOT NULL,
    id          TEXT NOT NULL,
    category    TEXT NOT NULL,
    status      TEXT NOT NULL,
    components  TEXT NOT NULL,                       -- JSON array, as Meta sends it
    synced_at   BIGINT NOT NULL,
    PRIMARY KEY (waba_id, name, language)
);

CREATE TABLE broadcasts (
    id           BIGSERIAL PRIMARY KEY,
    name         TEXT NOT NULL,
    spec         TEXT NOT NULL,                      -- JSON: shared::api::BroadcastSpec
    state        TEXT NOT NULL,                      -- scheduled | running | paused | cancelled | done
    send_at      BIGINT NOT NULL,
    created_by   BIGINT,
    created_at   BIGINT NOT NULL,
    started_at   BIGINT,
    completed_at BIGINT,
    audience     BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX broadcasts_due ON broadcasts (state, send_at);

-- The frozen audience: one row per contact, made once when the broadcast starts. The outbox
-- key is `bc:<broadcast>:<contact>`, so nothing can queue a second send to the same person.
CREATE TABLE broadcast_recipients (
    broadcast_id  BIGINT NOT NULL REFERENCES broadcasts(id),
    contact       TEXT NOT NULL,                     -- wa_id
    number_id     TEXT,
    outbox_key    TEXT,
    skipped       TEXT,                              -- why nothing was queued
    state         TEXT NOT NULL,                     -- skipped | queued | accepted | failed | cancelled
    status        TEXT,
    status_rank   BIGINT NOT NULL DEFAULT 0,
    wamid         TEXT,
    error_code    BIGINT,
    error_title   TEXT,
    accepted_at   BIGINT,
    delivered_at  BIGINT,
    read_at       BIGINT,
    replied_at    BIGINT,
    payload       TEXT,                              -- the Cloud API request, until it is queued
    PRIMARY KEY (broadcast_id, contact)
);
CREATE UNIQUE INDEX broadcast_recipients_key ON broadcast_recipients (outbox_key);
CREATE INDEX broadcast_recipients_contact ON broadcast_recipients (contact, number_id);

-- Broadcast rows wait behind live sends, stop while their broadcast is paused, and count
-- against the portfolio's messaging limit by recipient.
ALTER TABLE outbox ADD COLUMN broadcast_id BIGINT;
ALTER TABLE outbox ADD COLUMN recipient TEXT;
CREATE INDEX outbox_broadcast ON outbox (broadcast_id, state);
