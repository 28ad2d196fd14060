-- 0004_money.sql: money in the ledger (schema step 4): owners, the worker ->
-- owner mapping, income events, their splits, payments to owners, and the
-- views that recompute and check every split (docs/ledger.md).  Written by
-- src/coordinator/ledger_money.c (coopmine-cli, POST /api/income, and the
-- coordinator for block rewards).  Portable SQL as in step 1: integer ids,
-- BIGINT atomic units, epoch-ms times; the triggers are SQLite's.

-- People (or the operator) who are paid.  A worker without an owner row is
-- credited to an owner named after the worker (created on demand); the fee
-- goes to the operator's owner row ([pplns] fee_owner, default "operator").
CREATE TABLE owners (
	id		INTEGER PRIMARY KEY,
	name		TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 127),
	address		TEXT NOT NULL DEFAULT '',	-- payout address
	created_at	BIGINT NOT NULL
);

-- Which owners a worker belongs to from valid_from on, in basis points.
-- The rows of one (worker_id, valid_from) sum to 10000 (the writer checks
-- it in its transaction; the audit proves it).  Never changed: a move is a
-- new valid_from, so past splits keep their owners.
CREATE TABLE worker_owners (
	worker_id	TEXT NOT NULL CHECK (length(worker_id) BETWEEN 1 AND 127),
	owner_id	INTEGER NOT NULL REFERENCES owners (id),
	bps		INTEGER NOT NULL CHECK (bps > 0 AND bps <= 10000),
	valid_from	BIGINT NOT NULL,
	PRIMARY KEY (worker_id, valid_from, owner_id)
);

-- Every amount the cluster receives.  ref is the external reference (a
-- txid, the pool's payment id, "block:<hash>"): unique, so an import is
-- idempotent.  A reversal row has the amount of the row it reverses
-- (reverses) and counts negatively; its splits are the originals negated.
CREATE TABLE income (
	id		INTEGER PRIMARY KEY,
	amount		BIGINT NOT NULL CHECK (amount > 0),	-- atomic units
	at		BIGINT NOT NULL,			-- epoch ms
	source		TEXT NOT NULL CHECK (source IN ('pool', 'block', 'manual')),
	ref		TEXT NOT NULL UNIQUE CHECK (length(ref) BETWEEN 1 AND 255),
	note		TEXT NOT NULL DEFAULT '',
	block_id	INTEGER REFERENCES blocks (id),
	reverses	INTEGER UNIQUE REFERENCES income (id),
	recorded_at	BIGINT NOT NULL,
	CHECK (source = 'block' OR block_id IS NULL),
	CHECK (reverses IS NULL OR reverses < id)
);
CREATE INDEX income_at ON income (at);

-- How each income event was split: one header per income row, written in
-- the transaction that records the income.  The window is the accepted
-- shares with after_share_id < id <= last_share_id, newest first, the
-- first window_n units of difficulty (the oldest share clipped); prop
-- stores the whole range's difficulty as window_n.  n_source says where N
-- came from, for people.
CREATE TABLE income_splits (
	income_id	INTEGER PRIMARY KEY REFERENCES income (id),
	scheme		TEXT NOT NULL CHECK (scheme IN ('pplns', 'prop')),
	after_share_id	BIGINT NOT NULL DEFAULT 0 CHECK (after_share_id >= 0),
	last_share_id	BIGINT,			-- NULL: no share before the event
	first_share_id	BIGINT,			-- oldest share in the window
	window_n	BIGINT NOT NULL CHECK (window_n >= 0),
	n_source	TEXT NOT NULL,
	network_difficulty BIGINT NOT NULL DEFAULT 0 CHECK (network_difficulty >= 0),
	window_difficulty BIGINT NOT NULL CHECK (window_difficulty >= 0),
	share_count	BIGINT NOT NULL CHECK (share_count >= 0),
	fee_bps		INTEGER NOT NULL CHECK (fee_bps >= 0 AND fee_bps <= 10000),
	fee_owner_id	INTEGER NOT NULL REFERENCES owners (id),
	warning		TEXT NOT NULL DEFAULT ''
);

-- One row per income event x worker x owner, plus one 'fee' row (worker_id
-- NULL, the operator's owner).  worker_amount is the worker's PPLNS part
-- before its owners divide it by bps; amount is this owner's part
-- (negative on a reversal's rows).  worker_extra / owner_extra: the row got
-- one rounding unit at that level (largest remainder; ties to the smaller
-- worker id, then the smaller owner id).
CREATE TABLE splits (
	id		INTEGER PRIMARY KEY,
	income_id	INTEGER NOT NULL REFERENCES income (id),
	kind		TEXT NOT NULL CHECK (kind IN ('worker', 'fee')),
	worker_id	TEXT,
	owner_id	INTEGER NOT NULL REFERENCES owners (id),
	bps		INTEGER NOT NULL CHECK (bps > 0 AND bps <= 10000),
	difficulty	BIGINT NOT NULL CHECK (difficulty >= 0),
	shares		BIGINT NOT NULL CHECK (shares >= 0),
	worker_amount	BIGINT NOT NULL,
	amount		BIGINT NOT NULL,
	worker_extra	INTEGER NOT NULL DEFAULT 0 CHECK (worker_extra IN (0, 1)),
	owner_extra	INTEGER NOT NULL DEFAULT 0 CHECK (owner_extra IN (0, 1)),
	CHECK ((kind = 'fee') = (worker_id IS NULL)),
	UNIQUE (income_id, worker_id, owner_id)
);
CREATE INDEX splits_owner ON splits (owner_id);

-- What was actually sent to an owner.  A reversal row counts negatively.
CREATE TABLE payments (
	id		INTEGER PRIMARY KEY,
	owner_id	INTEGER NOT NULL REFERENCES owners (id),
	amount		BIGINT NOT NULL CHECK (amount > 0),
	at		BIGINT NOT NULL,
	ref		TEXT NOT NULL UNIQUE CHECK (length(ref) BETWEEN 1 AND 255),
	note		TEXT NOT NULL DEFAULT '',
	reverses	INTEGER UNIQUE REFERENCES payments (id),
	recorded_at	BIGINT NOT NULL
);
CREATE INDEX payments_owner ON payments (owner_id);

CREATE TRIGGER owners_no_delete BEFORE DELETE ON owners
BEGIN
	SELECT RAISE(ABORT, 'owners are kept: DELETE refused');
END;
CREATE TRIGGER worker_owners_no_update BEFORE UPDATE ON worker_owners
BEGIN
	SELECT RAISE(ABORT, 'worker_owners is append-only: assign from a new time');
END;
CREATE TRIGGER worker_owners_no_delete BEFORE DELETE ON worker_owners
BEGIN
	SELECT RAISE(ABORT, 'worker_owners is append-only: assign from a new time');
END;
CREATE TRIGGER income_no_update BEFORE UPDATE ON income
BEGIN
	SELECT RAISE(ABORT, 'income is append-only: record a reversal');
END;
CREATE TRIGGER income_no_delete BEFORE DELETE ON income
BEGIN
	SELECT RAISE(ABORT, 'income is append-only: record a reversal');
END;
CREATE TRIGGER income_splits_no_update BEFORE UPDATE ON income_splits
BEGIN
	SELECT RAISE(ABORT, 'income_splits are append-only');
END;
CREATE TRIGGER income_splits_no_delete BEFORE DELETE ON income_splits
BEGIN
	SELECT RAISE(ABORT, 'income_splits are append-only');
END;
CREATE TRIGGER splits_no_update BEFORE UPDATE ON splits
BEGIN
	SELECT RAISE(ABORT, 'splits are append-only: record a reversal');
END;
CREATE TRIGGER splits_no_delete BEFORE DELETE ON splits
BEGIN
	SELECT RAISE(ABORT, 'splits are append-only: record a reversal');
END;
CREATE TRIGGER payments_no_update BEFORE UPDATE ON payments
BEGIN
	SELECT RAISE(ABORT, 'payments are append-only: record a reversal');
END;
CREATE TRIGGER payments_no_delete BEFORE DELETE ON payments
BEGIN
	SELECT RAISE(ABORT, 'payments are append-only: record a reversal');
END;

-- Per owner: credited (all splits, reversals negative), paid (payments,
-- reversals negative), balance = credited - paid, and the immature part of
-- the credit (block income whose block is not accepted yet; pool and
-- manual income is mature).  Payments are refused above balance - immature.
CREATE VIEW owner_balances AS
SELECT o.id AS owner_id, o.name AS name, o.address AS address,
	coalesce((SELECT sum(s.amount) FROM splits s WHERE s.owner_id = o.id), 0)
	    AS credited,
	coalesce((SELECT sum(CASE WHEN p.reverses IS NULL THEN p.amount
	    ELSE -p.amount END) FROM payments p WHERE p.owner_id = o.id), 0)
	    AS paid,
	coalesce((SELECT sum(s.amount) FROM splits s JOIN income i
	    ON i.id = s.income_id JOIN blocks b ON b.id = i.block_id
	    WHERE s.owner_id = o.id AND b.status <> 'accepted'), 0) AS immature
FROM owners o;

-- The window of each (non-reversal) income event, one row per share that
-- touches it: counted is the part inside the window (the oldest share may
-- straddle the edge).  Shares before the header's first_share_id are not
-- read (each window costs its own size, not the whole history): a
-- first_share_id set too late drops shares and the recomputed amounts
-- differ; set too early it changes nothing (N still cuts).
CREATE VIEW income_window AS
WITH ranked AS (
	SELECT h.income_id, h.window_n, s.id AS share_id, s.worker_id,
	    s.difficulty,
	    coalesce(sum(s.difficulty) OVER (PARTITION BY h.income_id
		ORDER BY s.id DESC ROWS BETWEEN UNBOUNDED PRECEDING AND
		1 PRECEDING), 0) AS newer
	FROM income_splits h JOIN shares s ON s.id <= h.last_share_id
	    AND s.id > h.after_share_id
	    AND s.id >= coalesce(h.first_share_id, 0)
	    AND s.verdict = 'accepted' AND s.difficulty > 0
)
SELECT income_id, share_id, worker_id, difficulty,
	CASE WHEN newer + difficulty <= window_n THEN difficulty
	    ELSE window_n - newer END AS counted
FROM ranked WHERE newer < window_n;

CREATE VIEW income_window_workers AS
SELECT income_id, worker_id, sum(counted) AS difficulty, count(*) AS shares
FROM income_window GROUP BY income_id, worker_id;

-- Every split recomputed from the shares, the owner mapping and the
-- header's parameters (window bounds, N, fee), with the writer's integer
-- rules and without 128-bit arithmetic: floor(net * d / W) is a long
-- division over the 63 bits of d (mul: two recursion steps per bit,
-- doubling then adding modulo W, never above W); owner parts use
-- w = (w / 10000) * 10000 + w % 10000, so no product exceeds 64 bits.
-- Remainder units go to the largest remainders, ties to the smaller
-- worker id (byte order), then to the smaller owner id.
CREATE VIEW split_recompute AS
WITH RECURSIVE hdr AS (
	SELECT h.income_id, i.amount, h.fee_owner_id,
	    (SELECT coalesce(sum(w.difficulty), 0) FROM income_window_workers w
		WHERE w.income_id = h.income_id) AS wd,
	    (i.amount / 10000) * h.fee_bps +
		(i.amount % 10000) * h.fee_bps / 10000 AS fee
	FROM income_splits h JOIN income i ON i.id = h.income_id
	WHERE i.reverses IS NULL
), ww AS (
	SELECT w.income_id, w.worker_id, w.difficulty AS d, w.shares,
	    hdr.wd, hdr.amount - hdr.fee AS net
	FROM income_window_workers w JOIN hdr ON hdr.income_id = w.income_id
), mul (income_id, worker_id, wd, ra, d, bit, ph, qq, r) AS (
	SELECT income_id, worker_id, wd, net % wd, d, 62, 0, 0, 0 FROM ww
	UNION ALL
	SELECT income_id, worker_id, wd, ra, d,
	    CASE WHEN ph = 0 THEN bit ELSE bit - 1 END, 1 - ph,
	    CASE WHEN ph = 0 THEN qq * 2 + (CASE WHEN r >= wd - r THEN 1
		ELSE 0 END)
		WHEN (d >> bit) & 1 = 1 AND r >= wd - ra THEN qq + 1
		ELSE qq END,
	    CASE WHEN ph = 0 THEN (CASE WHEN r >= wd - r THEN r - (wd - r)
		ELSE r + r END)
		WHEN (d >> bit) & 1 = 1 THEN (CASE WHEN r >= wd - ra
		    THEN r - (wd - ra) ELSE r + ra END)
		ELSE r END
	FROM mul WHERE bit >= 0
), floors AS (
	SELECT ww.income_id, ww.worker_id, ww.d, ww.shares, ww.net,
	    (ww.net / ww.wd) * ww.d + m.qq AS amt, m.r AS rem
	FROM ww JOIN mul m ON m.income_id = ww.income_id
	    AND m.worker_id = ww.worker_id AND m.bit = -1
), ranked AS (
	SELECT income_id, worker_id, d, shares, amt,
	    row_number() OVER (PARTITION BY income_id ORDER BY rem DESC,
		worker_id) AS rk,
	    net - sum(amt) OVER (PARTITION BY income_id) AS lft
	FROM floors
), wamt AS (
	SELECT r.income_id, i.at, r.worker_id, r.d, r.shares,
	    r.amt + CASE WHEN r.rk <= r.lft THEN 1 ELSE 0 END AS wa
	FROM ranked r JOIN income i ON i.id = r.income_id
), own AS (
	SELECT a.income_id, a.worker_id, a.d, a.shares, a.wa, wo.owner_id,
	    wo.bps
	FROM wamt a JOIN worker_owners wo ON wo.worker_id = a.worker_id
	    AND wo.valid_from = (SELECT max(x.valid_from) FROM worker_owners x
		WHERE x.worker_id = a.worker_id AND x.valid_from <= a.at)
	UNION ALL
	SELECT a.income_id, a.worker_id, a.d, a.shares, a.wa, o.id, 10000
	FROM wamt a JOIN owners o ON o.name = a.worker_id
	WHERE NOT EXISTS (SELECT 1 FROM worker_owners x
	    WHERE x.worker_id = a.worker_id AND x.valid_from <= a.at)
), ownr AS (
	SELECT income_id, worker_id, d, shares, wa, owner_id, bps,
	    (wa / 10000) * bps + (wa % 10000) * bps / 10000 AS base,
	    ((wa % 10000) * bps) % 10000 AS rem
	FROM own
), orank AS (
	SELECT income_id, worker_id, d, shares, wa, owner_id, bps, base,
	    row_number() OVER (PARTITION BY income_id, worker_id
		ORDER BY rem DESC, owner_id) AS rk,
	    wa - sum(base) OVER (PARTITION BY income_id, worker_id) AS lft
	FROM ownr
), direct AS (
	SELECT income_id, 'worker' AS kind, worker_id, owner_id, bps,
	    d AS difficulty, shares, wa AS worker_amount,
	    base + CASE WHEN rk <= lft THEN 1 ELSE 0 END AS amount
	FROM orank
	UNION ALL
	SELECT income_id, 'fee', NULL, fee_owner_id, 10000, wd, 0,
	    CASE WHEN wd = 0 THEN amount ELSE fee END,
	    CASE WHEN wd = 0 THEN amount ELSE fee END
	FROM hdr
)
SELECT income_id, kind, worker_id, owner_id, bps, difficulty, shares,
	worker_amount, amount FROM direct
UNION ALL
SELECT i.id, d.kind, d.worker_id, d.owner_id, d.bps, d.difficulty, d.shares,
	-d.worker_amount, -d.amount
FROM income i JOIN direct d ON d.income_id = i.reverses;

-- Stored splits that the recomputation does not give, and recomputed ones
-- that are not stored: empty on a sound ledger (coopmine-cli audit).
CREATE VIEW split_differences AS
SELECT 'stored' AS side, * FROM (
	SELECT income_id, kind, worker_id, owner_id, bps, difficulty, shares,
	    worker_amount, amount FROM splits
	EXCEPT
	SELECT * FROM split_recompute) AS a
UNION ALL
SELECT 'recomputed', * FROM (
	SELECT * FROM split_recompute
	EXCEPT
	SELECT income_id, kind, worker_id, owner_id, bps, difficulty, shares,
	    worker_amount, amount FROM splits) AS b;
