-- Switchboard's first schema. Timestamps are UTC milliseconds.

CREATE TABLE numbers (
    id                  TEXT PRIMARY KEY,            -- Meta's phone-number id
    waba_id             TEXT NOT NULL,
    display_phone_number TEXT NOT NULL DEFAULT '',
    verified_name       TEXT NOT NULL DEFAULT '',
    quality_rating      TEXT NOT NULL DEFAULT 'UNKNOWN',
    messaging_limit     TEXT NOT NULL DEFAULT '',
    throughput_per_sec  BIGINT NOT NULL DEFAULT 80,
    access_token        TEXT NOT NULL,
    app_secret          TEXT NOT NULL,
    verify_token        TEXT NOT NULL DEFAULT '',
    connected           BOOLEAN NOT NULL DEFAULT FALSE,
    problem             TEXT,
    last_webhook_at     BIGINT,
    created_at          BIGINT NOT NULL
);

CREATE TABLE users (
    id            BIGSERIAL PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL,
    disabled      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    BIGINT NOT NULL
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,                     -- SHA-256 of the cookie value
    user_id    BIGINT NOT NULL REFERENCES users(id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

-- Every signed webhook body, stored before Meta gets its 200.
CREATE TABLE webhook_inbox (
    id          BIGSERIAL PRIMARY KEY,
    received_at BIGINT NOT NULL,
    body        BYTEA NOT NULL,
    processed   BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX webhook_inbox_unprocessed ON webhook_inbox (processed, id);

-- Signed bodies (or parts of them) that could not be understood.
CREATE TABLE dead_letters (
    id          BIGSERIAL PRIMARY KEY,
    inbox_id    BIGINT NOT NULL,
    reason      TEXT NOT NULL,
    body        BYTEA NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE contacts (
    id         BIGSERIAL PRIMARY KEY,
    wa_id      TEXT NOT NULL UNIQUE,                 -- phone number, or BSUID when Meta gives no number
    name       TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE conversations (
    id              BIGSERIAL PRIMARY KEY,
    number_id       TEXT NOT NULL,
    contact         TEXT NOT NULL,
    contact_name    TEXT,
    last_message_at BIGINT NOT NULL,
    last_preview    TEXT NOT NULL,
    last_direction  TEXT NOT NULL,
    unread          BIGINT NOT NULL DEFAULT 0,
    last_inbound_at BIGINT,
    UNIQUE (number_id, contact)
);
CREATE INDEX conversations_recent ON conversations (last_message_at);

CREATE TABLE messages (
    id              BIGSERIAL PRIMARY KEY,
    conversation_id BIGINT NOT NULL REFERENCES conversations(id),
    number_id       TEXT NOT NULL,
    wamid           TEXT UNIQUE,
    direction       TEXT NOT NULL,                   -- inbound | outbound
    kind            TEXT NOT NULL,
    body            TEXT NOT NULL,
    status          TEXT,                            -- outbound only
    status_rank     BIGINT NOT NULL DEFAULT 0,
    error           TEXT,
    created_at      BIGINT NOT NULL
);
CREATE INDEX messages_by_conversation ON messages (conversation_id, id);

-- Every (wamid, status) Meta reported, once: the dedupe key for status webhooks and the
-- record that reconciles a send whose HTTP answer was lost.
CREATE TABLE message_statuses (
    wamid         TEXT NOT NULL,
    status        TEXT NOT NULL,
    at            BIGINT NOT NULL,
    callback_data TEXT,
    error_code    BIGINT,
    error_title   TEXT,
    PRIMARY KEY (wamid, status)
);
CREATE INDEX message_statuses_callback ON message_statuses (callback_data);

-- Every send is first a row here; one lane per number drains it.
CREATE TABLE outbox (
    id              BIGSERIAL PRIMARY KEY,
    idempotency_key TEXT NOT NULL UNIQUE,            -- also sent as biz_opaque_callback_data
    number_id       TEXT NOT NULL,
    message_id      BIGINT,
    payload         TEXT NOT NULL,
    state           TEXT NOT NULL,                   -- queued | inflight | unknown | sent | failed
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    wamid           TEXT,
    error_code      BIGINT,
    error_title     TEXT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX outbox_ready ON outbox (number_id, state, next_attempt_at, id);

-- The append-only event log; seq is the SSE id.
CREATE TABLE events (
    seq       BIGSERIAL PRIMARY KEY,
    number_id TEXT NOT NULL,
    kind      TEXT NOT NULL,
    payload   TEXT NOT NULL,
    at        BIGINT NOT NULL
);
