-- Why a broadcast was paused when nobody pressed pause: `low_quality:<phone-number id>` when a
-- number it sends through fell to a RED quality rating. Cleared on resume.
ALTER TABLE broadcasts ADD COLUMN paused_reason TEXT;
