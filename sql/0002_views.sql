-- 0002_views.sql: views that answer operators' questions in one line
-- (schema step 2; docs/ledger.md shows them in use).  Portable SQL: window
-- functions and CTEs as SQLite (>= 3.25) and PostgreSQL both accept them.

-- Per-worker totals, counted from the shares themselves.
CREATE VIEW worker_totals AS
SELECT w.id AS worker_id, w.name AS name,
	(SELECT count(*) FROM shares s WHERE s.worker_id = w.id
	    AND s.verdict = 'accepted') AS shares_valid,
	(SELECT count(*) FROM shares s WHERE s.worker_id = w.id
	    AND s.verdict = 'rejected') AS shares_invalid,
	(SELECT coalesce(sum(s.difficulty), 0) FROM shares s
	    WHERE s.worker_id = w.id) AS difficulty_valid,
	(SELECT max(s.created_at) FROM shares s WHERE s.worker_id = w.id)
	    AS last_share_at,
	(SELECT count(*) FROM blocks b JOIN shares s ON s.id = b.share_id
	    WHERE s.worker_id = w.id) AS blocks_found,
	(SELECT coalesce(sum(p.amount), 0) FROM payouts p JOIN blocks b
	    ON b.id = p.block_id WHERE p.worker_id = w.id
	    AND b.status = 'accepted') AS paid_accepted,
	w.first_seen AS first_seen, w.last_seen AS last_seen
FROM workers w;

-- Shares per hour and worker (hour = epoch ms of the hour's start).
CREATE VIEW shares_per_hour AS
SELECT (created_at / 3600000) * 3600000 AS hour, worker_id,
	sum(CASE WHEN verdict = 'accepted' THEN 1 ELSE 0 END) AS accepted,
	sum(CASE WHEN verdict = 'rejected' THEN 1 ELSE 0 END) AS rejected,
	sum(difficulty) AS difficulty
FROM shares GROUP BY (created_at / 3600000) * 3600000, worker_id;

-- Rejections by reason.
CREATE VIEW shares_by_reason AS
SELECT verdict, reason, count(*) AS shares FROM shares GROUP BY verdict, reason;

-- Blocks with their stored payouts (one row per payout; the fee row has
-- kind = 'fee' and no worker).
CREATE VIEW block_payouts AS
SELECT b.id AS block_id, b.height, b.status, b.reward, b.window_n, b.fee_bps,
	p.kind, p.worker_id, p.amount, p.window_difficulty, p.share_count
FROM blocks b JOIN payouts p ON p.block_id = b.id;

-- The PPLNS window of each block: the accepted shares up to and including
-- the block's share, newest first, until window_n units of difficulty are
-- covered.  The oldest share may straddle the edge: only the part inside
-- the window counts (column counted).
CREATE VIEW pplns_window AS
WITH ranked AS (
	SELECT b.id AS block_id, b.window_n, s.id AS share_id, s.worker_id,
	    s.difficulty,
	    coalesce(sum(s.difficulty) OVER (PARTITION BY b.id ORDER BY s.id DESC
		ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS newer
	FROM blocks b JOIN shares s ON s.id <= b.share_id
	    AND s.verdict = 'accepted' AND s.difficulty > 0
)
SELECT block_id, share_id, worker_id, difficulty,
	CASE WHEN newer + difficulty <= window_n THEN difficulty
	    ELSE window_n - newer END AS counted
FROM ranked WHERE newer < window_n;

-- Each worker's difficulty in each block's window: the weights of the
-- split.  The exact integer split (128-bit products, remainder rule) is
-- pplns.c's; `coopmine-cli payouts` recomputes it from this window.
CREATE VIEW pplns_window_workers AS
SELECT block_id, worker_id, sum(counted) AS difficulty, count(*) AS shares
FROM pplns_window GROUP BY block_id, worker_id;

-- The window as it stands now: the latest accepted shares, N taken from
-- settings key 'pplns_window_n' (written by the coordinator).
CREATE VIEW pplns_current AS
WITH n AS (
	SELECT CAST(value AS BIGINT) AS window_n FROM settings
	WHERE key = 'pplns_window_n'
), ranked AS (
	SELECT n.window_n, s.id AS share_id, s.worker_id, s.difficulty,
	    coalesce(sum(s.difficulty) OVER (ORDER BY s.id DESC
		ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS newer
	FROM n, shares s WHERE s.verdict = 'accepted' AND s.difficulty > 0
)
SELECT worker_id, sum(CASE WHEN newer + difficulty <= window_n THEN difficulty
	    ELSE window_n - newer END) AS difficulty, count(*) AS shares
FROM ranked WHERE newer < window_n GROUP BY worker_id;
