-- A broadcast's report is one pass over this index (broadcasts::store::load_many reads only
-- these columns, grouped in this order), not a sort of its recipients' rows: at 50,000
-- recipients 30 ms instead of 300 ms. It also finds a running broadcast's queued recipients.
CREATE INDEX broadcast_recipients_report ON broadcast_recipients
    (broadcast_id, state, status, number_id, skipped, error_code, accepted_at, delivered_at, replied_at);
-- The report counts opt-outs from the customers who opted out, not from every recipient.
CREATE INDEX contacts_opted_out ON contacts (opted_out_at);
