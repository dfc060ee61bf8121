-- The auto-reply guards read a conversation's answers by every rule in one statement
-- (automation::store::history): by conversation, not by rule first.
CREATE INDEX auto_replies_by_conversation ON auto_replies (conversation_id);
