-- Labels agents put on conversations ("complaint", "VIP", "訂單"), kept as one normalised,
-- comma-separated list so every conversation query carries them without a join.
ALTER TABLE conversations ADD COLUMN labels TEXT NOT NULL DEFAULT '';
