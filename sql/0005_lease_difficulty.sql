-- 0005_lease_difficulty.sql: the share difficulty each lease was given
-- (schema step 5).  A credited share's difficulty is its lease's; keeping
-- it lets a restart judge shares sent across it exactly as before, and
-- lets the audit prove every credit.  0: not recorded (leases written
-- before this step).  Portable: ALTER TABLE ... ADD COLUMN.
ALTER TABLE leases ADD COLUMN difficulty BIGINT NOT NULL DEFAULT 0
	CHECK (difficulty >= 0);
