-- 0007_retention.sql: share retention (schema step 7).  With [ledger]
-- retention set, the writer thread (src/coordinator/ledger_retain.c) rolls
-- shares older than the retention, and outside every PPLNS window that is or
-- may still be needed, into one row per worker and hour (share_rollups),
-- one contiguous range of share ids per transaction.  Each range is first
-- recorded with what it held before deletion (share_rollup_ranges); the
-- triggers below check those figures against the shares, let the deletion
-- through only while its range row says 'deleting', and close the range only
-- when the rollups add up to the figures and no share is left inside it.
-- An ordinary DELETE FROM shares is still refused.  coopmine-cli audit
-- lists the ranges and proves them again.  Portable SQL; triggers SQLite's.

CREATE TABLE share_rollup_ranges (
	id		INTEGER PRIMARY KEY,
	first_share_id	BIGINT NOT NULL CHECK (first_share_id > 0),
	last_share_id	BIGINT NOT NULL CHECK (last_share_id >= first_share_id),
	-- the created_at bounds of the shares the range held
	first_created_at BIGINT NOT NULL,
	last_created_at	BIGINT NOT NULL CHECK (last_created_at >= first_created_at),
	-- what the range held before deletion
	shares_valid	BIGINT NOT NULL CHECK (shares_valid >= 0),
	shares_invalid	BIGINT NOT NULL CHECK (shares_invalid >= 0),
	difficulty_sum	BIGINT NOT NULL CHECK (difficulty_sum >= 0),
	workers		BIGINT NOT NULL CHECK (workers > 0),
	-- why these shares could go: older than cutoff_ms (now - retention),
	-- below keep_from (the oldest share a PPLNS window may still need)
	cutoff_ms	BIGINT NOT NULL,
	keep_from	BIGINT NOT NULL CHECK (keep_from > last_share_id),
	state		TEXT NOT NULL CHECK (state IN ('deleting', 'done')),
	rolled_at_ms	BIGINT NOT NULL
);
CREATE INDEX share_rollup_ranges_last ON share_rollup_ranges (last_share_id);

-- One row per worker and hour (hour_start_ms = epoch ms of the hour's
-- start) of a rolled range.  A range never holds the first or the last
-- share of an income split's window, so a window holds whole ranges or none
-- of one: income_window below reads their rollups in place of the shares,
-- and every stored split still recomputes (split_recompute).
CREATE TABLE share_rollups (
	range_id	INTEGER NOT NULL REFERENCES share_rollup_ranges (id),
	worker_id	TEXT NOT NULL REFERENCES workers (id),
	hour_start_ms	BIGINT NOT NULL CHECK (hour_start_ms % 3600000 = 0),
	shares_valid	BIGINT NOT NULL CHECK (shares_valid >= 0),
	shares_invalid	BIGINT NOT NULL CHECK (shares_invalid >= 0),
	-- accepted with a difficulty above 0: what a PPLNS window counts
	shares_credited	BIGINT NOT NULL CHECK (shares_credited >= 0
	    AND shares_credited <= shares_valid),
	difficulty_sum	BIGINT NOT NULL CHECK (difficulty_sum >= 0),
	first_share_id	BIGINT NOT NULL,
	last_share_id	BIGINT NOT NULL CHECK (last_share_id >= first_share_id),
	rolled_at_ms	BIGINT NOT NULL,
	PRIMARY KEY (range_id, worker_id, hour_start_ms)
);
CREATE INDEX share_rollups_worker ON share_rollups (worker_id, hour_start_ms);

-- A range is opened with the true figures of its shares, overlaps no other
-- range, and holds no share that something still refers to: a block, an
-- open upstream fate, or an end (oldest or newest share) of the window of
-- a recorded income split.
CREATE TRIGGER share_rollup_ranges_open BEFORE INSERT ON share_rollup_ranges
BEGIN
	SELECT RAISE(ABORT, 'share_rollup_ranges: a range opens as deleting')
	WHERE NEW.state <> 'deleting';
	SELECT RAISE(ABORT, 'share_rollup_ranges: overlaps a rolled range')
	WHERE EXISTS (SELECT 1 FROM share_rollup_ranges r
	    WHERE r.first_share_id <= NEW.last_share_id
	    AND r.last_share_id >= NEW.first_share_id);
	SELECT RAISE(ABORT, 'share_rollup_ranges: figures differ from the shares')
	WHERE (SELECT count(*) FROM shares s WHERE s.id BETWEEN
	    NEW.first_share_id AND NEW.last_share_id AND s.verdict = 'accepted')
	    <> NEW.shares_valid
	OR (SELECT count(*) FROM shares s WHERE s.id BETWEEN NEW.first_share_id
	    AND NEW.last_share_id AND s.verdict = 'rejected') <> NEW.shares_invalid
	OR (SELECT coalesce(sum(s.difficulty), 0) FROM shares s WHERE s.id
	    BETWEEN NEW.first_share_id AND NEW.last_share_id) <> NEW.difficulty_sum
	OR (SELECT count(DISTINCT s.worker_id) FROM shares s WHERE s.id BETWEEN
	    NEW.first_share_id AND NEW.last_share_id) <> NEW.workers
	OR (SELECT min(s.created_at) FROM shares s WHERE s.id BETWEEN
	    NEW.first_share_id AND NEW.last_share_id) <> NEW.first_created_at
	OR (SELECT max(s.created_at) FROM shares s WHERE s.id BETWEEN
	    NEW.first_share_id AND NEW.last_share_id) <> NEW.last_created_at
	OR NEW.last_created_at >= NEW.cutoff_ms;
	SELECT RAISE(ABORT, 'share_rollup_ranges: holds a block''s share')
	WHERE EXISTS (SELECT 1 FROM blocks b WHERE b.share_id BETWEEN
	    NEW.first_share_id AND NEW.last_share_id);
	SELECT RAISE(ABORT, 'share_rollup_ranges: holds a share whose upstream fate is open')
	WHERE EXISTS (SELECT 1 FROM shares s WHERE s.id BETWEEN
	    NEW.first_share_id AND NEW.last_share_id
	    AND s.upstream IN ('pending', 'submitted'));
	SELECT RAISE(ABORT, 'share_rollup_ranges: holds an end of an income split''s window')
	WHERE EXISTS (SELECT 1 FROM income_splits h
	    WHERE h.first_share_id BETWEEN NEW.first_share_id AND NEW.last_share_id
	    OR h.last_share_id BETWEEN NEW.first_share_id AND NEW.last_share_id);
END;

-- Closing: every share gone and the rollups add up to the figures.
CREATE TRIGGER share_rollup_ranges_close BEFORE UPDATE ON share_rollup_ranges
BEGIN
	SELECT RAISE(ABORT, 'share_rollup_ranges: only deleting -> done may change')
	WHERE OLD.state <> 'deleting' OR NEW.state <> 'done'
	OR NEW.id <> OLD.id OR NEW.first_share_id <> OLD.first_share_id
	OR NEW.last_share_id <> OLD.last_share_id
	OR NEW.first_created_at <> OLD.first_created_at
	OR NEW.last_created_at <> OLD.last_created_at
	OR NEW.shares_valid <> OLD.shares_valid
	OR NEW.shares_invalid <> OLD.shares_invalid
	OR NEW.difficulty_sum <> OLD.difficulty_sum OR NEW.workers <> OLD.workers
	OR NEW.cutoff_ms <> OLD.cutoff_ms OR NEW.keep_from <> OLD.keep_from
	OR NEW.rolled_at_ms <> OLD.rolled_at_ms;
	SELECT RAISE(ABORT, 'share_rollup_ranges: shares remain in the range')
	WHERE EXISTS (SELECT 1 FROM shares s WHERE s.id BETWEEN
	    OLD.first_share_id AND OLD.last_share_id);
	SELECT RAISE(ABORT, 'share_rollup_ranges: rollups differ from the figures')
	WHERE (SELECT coalesce(sum(shares_valid), 0) FROM share_rollups
	    WHERE range_id = OLD.id) <> OLD.shares_valid
	OR (SELECT coalesce(sum(shares_invalid), 0) FROM share_rollups
	    WHERE range_id = OLD.id) <> OLD.shares_invalid
	OR (SELECT coalesce(sum(difficulty_sum), 0) FROM share_rollups
	    WHERE range_id = OLD.id) <> OLD.difficulty_sum;
END;
CREATE TRIGGER share_rollup_ranges_no_delete BEFORE DELETE ON share_rollup_ranges
BEGIN
	SELECT RAISE(ABORT, 'share_rollup_ranges are kept: DELETE refused');
END;

CREATE TRIGGER share_rollups_open BEFORE INSERT ON share_rollups
	WHEN NOT EXISTS (SELECT 1 FROM share_rollup_ranges r
	    WHERE r.id = NEW.range_id AND r.state = 'deleting'
	    AND NEW.first_share_id >= r.first_share_id
	    AND NEW.last_share_id <= r.last_share_id)
BEGIN
	SELECT RAISE(ABORT, 'share_rollups: written only with their range, while it is deleting');
END;
CREATE TRIGGER share_rollups_no_update BEFORE UPDATE ON share_rollups
BEGIN
	SELECT RAISE(ABORT, 'share_rollups are written once');
END;
CREATE TRIGGER share_rollups_no_delete BEFORE DELETE ON share_rollups
BEGIN
	SELECT RAISE(ABORT, 'share_rollups are written once');
END;

-- Shares stay append-only; the one way out is a range being rolled.
DROP TRIGGER shares_no_delete;
CREATE TRIGGER shares_no_delete BEFORE DELETE ON shares
	WHEN NOT EXISTS (SELECT 1 FROM share_rollup_ranges r
	    WHERE r.state = 'deleting' AND r.last_share_id >= OLD.id
	    AND r.first_share_id <= OLD.id)
BEGIN
	SELECT RAISE(ABORT, 'shares are append-only: DELETE refused (old shares leave only through [ledger] retention)');
END;

-- Per-worker totals count the rolled shares too.
DROP VIEW worker_totals;
CREATE VIEW worker_totals AS
SELECT w.id AS worker_id, w.name AS name,
	(SELECT count(*) FROM shares s WHERE s.worker_id = w.id
	    AND s.verdict = 'accepted') +
	(SELECT coalesce(sum(r.shares_valid), 0) FROM share_rollups r
	    WHERE r.worker_id = w.id) AS shares_valid,
	(SELECT count(*) FROM shares s WHERE s.worker_id = w.id
	    AND s.verdict = 'rejected') +
	(SELECT coalesce(sum(r.shares_invalid), 0) FROM share_rollups r
	    WHERE r.worker_id = w.id) AS shares_invalid,
	(SELECT coalesce(sum(s.difficulty), 0) FROM shares s
	    WHERE s.worker_id = w.id) +
	(SELECT coalesce(sum(r.difficulty_sum), 0) FROM share_rollups r
	    WHERE r.worker_id = w.id) AS difficulty_valid,
	(SELECT max(s.created_at) FROM shares s WHERE s.worker_id = w.id)
	    AS last_share_at,
	(SELECT count(*) FROM blocks b JOIN shares s ON s.id = b.share_id
	    WHERE s.worker_id = w.id) AS blocks_found,
	(SELECT coalesce(sum(p.amount), 0) FROM payouts p JOIN blocks b
	    ON b.id = p.block_id WHERE p.worker_id = w.id
	    AND b.status = 'accepted') AS paid_accepted,
	w.first_seen AS first_seen, w.last_seen AS last_seen
FROM workers w;

-- Shares per hour and worker, from the shares and the rollups.
DROP VIEW shares_per_hour;
CREATE VIEW shares_per_hour AS
SELECT hour, worker_id, sum(accepted) AS accepted, sum(rejected) AS rejected,
	sum(difficulty) AS difficulty
FROM (SELECT (created_at / 3600000) * 3600000 AS hour, worker_id,
	    CASE WHEN verdict = 'accepted' THEN 1 ELSE 0 END AS accepted,
	    CASE WHEN verdict = 'rejected' THEN 1 ELSE 0 END AS rejected,
	    difficulty FROM shares
	UNION ALL
	SELECT hour_start_ms, worker_id, shares_valid, shares_invalid,
	    difficulty_sum FROM share_rollups) AS x
GROUP BY hour, worker_id;

-- The window of each income event, as in step 4, with the rolled ranges
-- inside it read from their rollups: a rollup row stands at its last share
-- id and counts whole (only the window's oldest share, never rolled, can
-- straddle the edge).  shares: how many shares the row stands for.
DROP VIEW income_window_workers;
DROP VIEW income_window;
CREATE VIEW income_window AS
WITH items AS (
	SELECT h.income_id, h.window_n, s.id AS share_id, s.worker_id,
	    s.difficulty, 1 AS shares
	FROM income_splits h JOIN shares s ON s.id <= h.last_share_id
	    AND s.id > h.after_share_id
	    AND s.id >= coalesce(h.first_share_id, 0)
	    AND s.verdict = 'accepted' AND s.difficulty > 0
	UNION ALL
	SELECT h.income_id, h.window_n, r.last_share_id, r.worker_id,
	    r.difficulty_sum, r.shares_credited
	FROM income_splits h JOIN share_rollups r
	    ON r.last_share_id <= h.last_share_id
	    AND r.first_share_id > h.after_share_id
	    AND r.first_share_id >= coalesce(h.first_share_id, 0)
	    AND r.difficulty_sum > 0
), ranked AS (
	SELECT income_id, window_n, share_id, worker_id, difficulty, shares,
	    coalesce(sum(difficulty) OVER (PARTITION BY income_id
		ORDER BY share_id DESC ROWS BETWEEN UNBOUNDED PRECEDING AND
		1 PRECEDING), 0) AS newer
	FROM items
)
SELECT income_id, share_id, worker_id, difficulty, shares,
	CASE WHEN newer + difficulty <= window_n THEN difficulty
	    ELSE window_n - newer END AS counted
FROM ranked WHERE newer < window_n;

CREATE VIEW income_window_workers AS
SELECT income_id, worker_id, sum(counted) AS difficulty, sum(shares) AS shares
FROM income_window GROUP BY income_id, worker_id;
