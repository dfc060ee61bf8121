-- Whether a conversation is a WhatsApp group's (its contact is the group id): replies to it are
-- sent to the group, and need the manage-groups permission.
ALTER TABLE conversations ADD COLUMN is_group BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE conversations SET is_group = TRUE WHERE contact IN (SELECT id FROM groups);
