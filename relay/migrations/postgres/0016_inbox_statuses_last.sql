-- Customers' messages are digested before status updates: a body that carries nothing but
-- statuses is marked when stored, and the processor reads the others first (inbound::store::
-- unprocessed), so during a status storm a customer's message never waits behind it.
ALTER TABLE webhook_inbox ADD COLUMN statuses_only BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX webhook_inbox_next ON webhook_inbox (processed, statuses_only, id);
