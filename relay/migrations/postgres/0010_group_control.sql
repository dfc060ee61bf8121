-- Group control: every group of every number with who serves it (Cloud API or a linked
-- device), its settings, members (every identifier known), waiting join requests; the linked
-- devices and their connection; each number's LID ↔ phone map; bulk jobs across groups, one row
-- per group, carried out like the outbox.
ALTER TABLE groups ADD COLUMN provider TEXT NOT NULL DEFAULT 'cloud';
ALTER TABLE groups ADD COLUMN description TEXT;
ALTER TABLE groups ADD COLUMN admins_only BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE groups ADD COLUMN locked BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE groups ADD COLUMN join_approval BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE groups ADD COLUMN suspended BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE groups ADD COLUMN lid_addressing BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE groups ADD COLUMN is_admin BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE groups ADD COLUMN last_activity_at BIGINT;
ALTER TABLE groups ADD COLUMN gone BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX groups_by_number ON groups (number_id);

CREATE TABLE group_members (
    group_id   TEXT NOT NULL,
    member_key TEXT NOT NULL,                       -- lid:…, pn:… or bsuid:…
    pn         TEXT,
    lid        TEXT,
    bsuid      TEXT,
    wa_id      TEXT,
    name       TEXT,
    role       TEXT NOT NULL DEFAULT 'member',
    PRIMARY KEY (group_id, member_key)
);
CREATE INDEX group_members_by_pn ON group_members (pn);
CREATE INDEX group_members_by_lid ON group_members (lid);

CREATE TABLE group_join_requests (
    group_id     TEXT NOT NULL,
    request_id   TEXT NOT NULL,
    pn           TEXT,
    lid          TEXT,
    bsuid        TEXT,
    wa_id        TEXT,
    name         TEXT,
    requested_at BIGINT NOT NULL,
    PRIMARY KEY (group_id, request_id)
);

CREATE TABLE lid_map (
    number_id  TEXT NOT NULL,
    lid        TEXT NOT NULL,
    pn         TEXT NOT NULL,
    learned_at BIGINT NOT NULL,
    PRIMARY KEY (number_id, lid)
);

CREATE TABLE linked_devices (
    number_id   TEXT PRIMARY KEY,                   -- digits; a Cloud number's id when it is that number
    phone       TEXT NOT NULL,
    label       TEXT NOT NULL DEFAULT '',
    state       TEXT NOT NULL DEFAULT 'logged_out', -- online | connecting | offline | logged_out | banned
    state_since BIGINT NOT NULL,
    reason      TEXT,
    qr          TEXT,
    pair_code   TEXT,
    session     TEXT,                               -- sealed like tokens (the real provider's keys)
    event_seq   BIGINT NOT NULL DEFAULT 0,          -- the last session event taken in
    created_at  BIGINT NOT NULL
);

CREATE TABLE group_jobs (
    id          BIGSERIAL PRIMARY KEY,
    action      TEXT NOT NULL,                      -- the BulkAction as JSON
    state       TEXT NOT NULL DEFAULT 'running',
    created_by  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    finished_at BIGINT,
    numbers     TEXT NOT NULL                       -- ,A,B, like the audit log
);

CREATE TABLE group_job_items (
    job_id       BIGINT NOT NULL,
    seq          BIGINT NOT NULL,
    group_id     TEXT NOT NULL,
    number_id    TEXT NOT NULL,
    subject      TEXT NOT NULL,
    verdict      TEXT NOT NULL,
    state        TEXT NOT NULL,
    detail       TEXT,
    attempts     BIGINT NOT NULL DEFAULT 0,
    not_before   BIGINT NOT NULL DEFAULT 0,
    accepted_at  BIGINT,
    done_at      BIGINT,
    PRIMARY KEY (job_id, seq)
);
CREATE INDEX group_job_items_waiting ON group_job_items (number_id, state);
CREATE INDEX group_job_items_by_group ON group_job_items (group_id, state);

-- Adds made per number per day (the daily cap).
CREATE TABLE group_adds (
    number_id TEXT NOT NULL,
    day       TEXT NOT NULL,
    count     BIGINT NOT NULL,
    PRIMARY KEY (number_id, day)
);
