-- 0006_node.sql: solo mining on the cooperative's own OpenSY node (schema
-- step 6, issue 14).  Node work is split by extranonce first: each lease
-- of a node job has its own coinbase extranonce, from a counter that never
-- goes back (a restart continues at the largest recorded + 1), so each
-- lease hashes headers no other lease can.  A found block is followed in
-- the node's best chain until it is mature or orphaned.  Portable SQL as
-- in step 1: ALTER TABLE ... ADD COLUMN, a partial unique index, a view
-- dropped and created again.

-- The lease's extranonce; NULL: pool work (one blob for every lease).
ALTER TABLE leases ADD COLUMN extranonce BIGINT
	CHECK (extranonce IS NULL OR extranonce >= 0);
-- No extranonce is ever given to two leases, enforced by the engine.
CREATE UNIQUE INDEX leases_extranonce_once ON leases (extranonce)
	WHERE extranonce IS NOT NULL;

-- What the node answered to submitblock ('' accepted, else its reason),
-- the confirmations seen last, how many make the reward mature (0: pool
-- blocks, mature when accepted) and when it became mature.
ALTER TABLE blocks ADD COLUMN node_answer TEXT;
ALTER TABLE blocks ADD COLUMN confirmations BIGINT NOT NULL DEFAULT 0;
ALTER TABLE blocks ADD COLUMN maturity BIGINT NOT NULL DEFAULT 0
	CHECK (maturity >= 0);
ALTER TABLE blocks ADD COLUMN matured_at BIGINT;

-- As in step 4, and a node block's income stays immature until the block
-- has its maturity's confirmations.
DROP VIEW owner_balances;
CREATE VIEW owner_balances AS
SELECT o.id AS owner_id, o.name AS name, o.address AS address,
	coalesce((SELECT sum(s.amount) FROM splits s WHERE s.owner_id = o.id), 0)
	    AS credited,
	coalesce((SELECT sum(CASE WHEN p.reverses IS NULL THEN p.amount
	    ELSE -p.amount END) FROM payments p WHERE p.owner_id = o.id), 0)
	    AS paid,
	coalesce((SELECT sum(s.amount) FROM splits s JOIN income i
	    ON i.id = s.income_id JOIN blocks b ON b.id = i.block_id
	    WHERE s.owner_id = o.id AND (b.status <> 'accepted' OR
	    (b.maturity > 0 AND b.matured_at IS NULL))), 0) AS immature
FROM owners o;
