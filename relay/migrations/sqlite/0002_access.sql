-- Roles, scopes, assignment, one-time password links and the audit log.

CREATE TABLE roles (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT NOT NULL UNIQUE,
    permissions TEXT NOT NULL,                       -- JSON array of permission names
    builtin     BOOLEAN NOT NULL DEFAULT FALSE,
    created_at  BIGINT NOT NULL
);

ALTER TABLE users ADD COLUMN all_numbers BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE users ADD COLUMN assigned_only BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE users ADD COLUMN password_set BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE users ADD COLUMN reset_token_hash TEXT;
ALTER TABLE users ADD COLUMN reset_expires_at BIGINT;

CREATE TABLE user_numbers (
    user_id   BIGINT NOT NULL REFERENCES users(id),
    number_id TEXT NOT NULL,
    PRIMARY KEY (user_id, number_id)
);

ALTER TABLE conversations ADD COLUMN assigned_to BIGINT;
ALTER TABLE messages ADD COLUMN sent_by BIGINT;                  -- the agent, for replies typed by a person
CREATE INDEX conversations_assigned ON conversations (assigned_to);
ALTER TABLE events ADD COLUMN assigned_to BIGINT;
ALTER TABLE numbers ADD COLUMN disabled BOOLEAN NOT NULL DEFAULT FALSE;

-- Append-only: rows are inserted, never updated or deleted.
CREATE TABLE audit_log (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    at        BIGINT NOT NULL,
    actor_id  BIGINT,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    target    TEXT NOT NULL,
    before    TEXT,
    after     TEXT
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
