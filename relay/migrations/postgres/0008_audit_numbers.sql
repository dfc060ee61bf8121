-- The business numbers an audit entry is about, as `,A,B,` (NULL for workspace-wide entries such
-- as roles and agents), so a reader limited to some numbers sees only what happened on them.
ALTER TABLE audit_log ADD COLUMN numbers TEXT;
