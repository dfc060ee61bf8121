-- The support day, second part: a conversation's life (open, pending, resolved, snoozed), its
-- timeline besides the messages (notes, assignment decisions, status changes), and the canned
-- replies agents insert with a shortcut.

-- open | pending | resolved | snoozed; a customer's new message opens it again.
ALTER TABLE conversations ADD COLUMN status TEXT NOT NULL DEFAULT 'open';
ALTER TABLE conversations ADD COLUMN snoozed_until BIGINT;
-- The assignment runner reads a number's open conversations and each agent's load.
CREATE INDEX conversations_queue ON conversations (number_id, status, assigned_to);
CREATE INDEX conversations_agent ON conversations (assigned_to, status);

CREATE TABLE conversation_activity (
    id              BIGSERIAL PRIMARY KEY,
    conversation_id BIGINT NOT NULL,
    -- note | assignment | status
    kind            TEXT NOT NULL,
    -- the user who did it; NULL for the relay itself
    author          BIGINT,
    text            TEXT NOT NULL,
    -- assignment: to whom (NULL: back to the queue) and why (arrival, opening, released, ...)
    agent           BIGINT,
    reason          TEXT,
    -- status: the new status
    status          TEXT,
    -- note: ',1,2,' the colleagues it mentions
    mentions        TEXT NOT NULL DEFAULT '',
    at              BIGINT NOT NULL
);
CREATE INDEX conversation_activity_of ON conversation_activity (conversation_id, id);

CREATE TABLE canned_replies (
    id          BIGSERIAL PRIMARY KEY,
    -- typed after '/', lower case: 'hours'
    shortcut    TEXT NOT NULL UNIQUE,
    text        TEXT NOT NULL,
    -- ',A,B,' or '' for every number
    numbers     TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL
);
