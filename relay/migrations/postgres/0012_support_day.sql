-- The support day: business hours and assignment per number, agents' public codes, capacity
-- and away status, auto-reply rules, and which rule answered which conversation when.

-- JSON BusinessHours in the number's time zone; NULL means always open.
ALTER TABLE numbers ADD COLUMN hours TEXT;
-- manual | round_robin | least_open
ALTER TABLE numbers ADD COLUMN assignment TEXT NOT NULL DEFAULT 'manual';

-- The code customers may see ("103", shown as #103); unique among agents who have one.
ALTER TABLE users ADD COLUMN code TEXT;
CREATE UNIQUE INDEX users_code ON users (code);
-- The most open conversations the agent takes; NULL: no limit.
ALTER TABLE users ADD COLUMN capacity BIGINT;
-- Set by hand: on a break, in a meeting.
ALTER TABLE users ADD COLUMN away BOOLEAN NOT NULL DEFAULT FALSE;

CREATE TABLE auto_rules (
    id             BIGSERIAL PRIMARY KEY,
    name           TEXT NOT NULL,
    -- welcome | keyword | away
    kind           TEXT NOT NULL,
    -- JSON AutoRuleSpec, the whole rule as the console wrote it
    spec           TEXT NOT NULL,
    -- ',A,B,' or '' for every number
    numbers        TEXT NOT NULL DEFAULT '',
    enabled        BOOLEAN NOT NULL DEFAULT TRUE,
    answered       BIGINT NOT NULL DEFAULT 0,
    created_at     BIGINT NOT NULL
);

-- When a rule last answered a conversation: it answers again only after its period.
CREATE TABLE auto_replies (
    rule_id         BIGINT NOT NULL,
    conversation_id BIGINT NOT NULL,
    at              BIGINT NOT NULL,
    PRIMARY KEY (rule_id, conversation_id)
);

-- An automatic message names the rule that sent it ("auto: Away"); NULL for people's.
ALTER TABLE messages ADD COLUMN auto_rule TEXT;
