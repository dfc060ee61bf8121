-- WhatsApp groups a business number belongs to, as their webhooks describe them. The group's
-- conversation is named after its subject.
CREATE TABLE groups (
    id          TEXT PRIMARY KEY,                    -- Meta's group id
    number_id   TEXT NOT NULL,
    subject     TEXT,
    invite_link TEXT,
    updated_at  BIGINT NOT NULL
);
