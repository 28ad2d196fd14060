-- 0001_tables.sql: the ledger's tables (schema step 1).  Applied once, in one
-- transaction, by the coordinator's ledger (src/coordinator/ledger.c), which
-- then sets PRAGMA user_version = 1.  Never edit a shipped step: add one.
-- Portable SQL (SQLite and PostgreSQL): integer ids, integer amounts in
-- atomic units, times in epoch milliseconds, blobs only as bound parameters.
-- The triggers at the end are SQLite's; a PostgreSQL backend has its own.

CREATE TABLE workers (
	id		TEXT PRIMARY KEY,	-- the certificate CN
	name		TEXT NOT NULL DEFAULT '',
	first_seen	BIGINT NOT NULL,
	last_seen	BIGINT NOT NULL,
	threads		INTEGER NOT NULL DEFAULT 0 CHECK (threads >= 0),
	version		TEXT NOT NULL DEFAULT '',
	-- counters kept by the writer in the transaction of each share
	shares_valid	BIGINT NOT NULL DEFAULT 0 CHECK (shares_valid >= 0),
	shares_invalid	BIGINT NOT NULL DEFAULT 0 CHECK (shares_invalid >= 0),
	difficulty_valid BIGINT NOT NULL DEFAULT 0 CHECK (difficulty_valid >= 0),
	CHECK (last_seen >= first_seen)
);

CREATE TABLE heartbeats (
	id		INTEGER PRIMARY KEY,
	worker_id	TEXT NOT NULL REFERENCES workers (id),
	at		BIGINT NOT NULL,
	hashrate	DOUBLE PRECISION NOT NULL DEFAULT 0,
	shares_valid	BIGINT NOT NULL DEFAULT 0,
	shares_invalid	BIGINT NOT NULL DEFAULT 0,
	hashes_total	BIGINT NOT NULL DEFAULT 0,
	uptime_ms	BIGINT NOT NULL DEFAULT 0,
	cpu_usage	DOUBLE PRECISION NOT NULL DEFAULT 0,
	memory_usage	DOUBLE PRECISION NOT NULL DEFAULT 0,
	temperature	DOUBLE PRECISION NOT NULL DEFAULT 0
);
CREATE INDEX heartbeats_worker_at ON heartbeats (worker_id, at);
CREATE INDEX heartbeats_at ON heartbeats (at);

-- Heartbeats older than the retention setting are rolled into one row per
-- worker and hour (hour = epoch ms of the hour's start).
CREATE TABLE heartbeats_hourly (
	worker_id	TEXT NOT NULL REFERENCES workers (id),
	hour		BIGINT NOT NULL CHECK (hour % 3600000 = 0),
	beats		BIGINT NOT NULL CHECK (beats > 0),
	hashrate_avg	DOUBLE PRECISION NOT NULL,
	hashrate_max	DOUBLE PRECISION NOT NULL,
	hashes_total_max BIGINT NOT NULL,
	PRIMARY KEY (worker_id, hour)
);

CREATE TABLE upstream_sessions (
	id		INTEGER PRIMARY KEY,
	pool_url	TEXT NOT NULL,
	connected_at	BIGINT NOT NULL,
	disconnected_at	BIGINT CHECK (disconnected_at IS NULL OR disconnected_at >= connected_at)
);

CREATE TABLE jobs (
	id		INTEGER PRIMARY KEY,
	session_id	INTEGER NOT NULL REFERENCES upstream_sessions (id),
	upstream_job_id	TEXT NOT NULL,
	blob		BLOB NOT NULL,
	seed		BLOB NOT NULL,
	height		BIGINT NOT NULL CHECK (height >= 0),
	-- the pool's 64-bit share target, 16 hex digits, most significant first
	target		TEXT NOT NULL CHECK (length(target) = 16),
	difficulty	BIGINT NOT NULL CHECK (difficulty >= 0),
	nbits		BIGINT NOT NULL DEFAULT 0 CHECK (nbits >= 0 AND nbits <= 4294967295),
	block_target	BLOB,			-- 32 bytes, little-endian; NULL: none
	received_at	BIGINT NOT NULL,
	clean		INTEGER NOT NULL CHECK (clean IN (0, 1)),
	superseded_at	BIGINT CHECK (superseded_at IS NULL OR superseded_at >= received_at)
);
CREATE INDEX jobs_session ON jobs (session_id);

CREATE TABLE leases (
	id		INTEGER PRIMARY KEY,
	job_id		INTEGER NOT NULL REFERENCES jobs (id),
	worker_id	TEXT NOT NULL REFERENCES workers (id),
	nonce_start	BIGINT NOT NULL CHECK (nonce_start >= 0),
	nonce_end	BIGINT NOT NULL CHECK (nonce_end > nonce_start AND nonce_end <= 4294967296),
	issued_at	BIGINT NOT NULL,
	released_at	BIGINT CHECK (released_at IS NULL OR released_at >= issued_at)
);
CREATE INDEX leases_job_start ON leases (job_id, nonce_start);
CREATE INDEX leases_worker ON leases (worker_id);

CREATE TABLE shares (
	id		INTEGER PRIMARY KEY,
	job_id		INTEGER REFERENCES jobs (id),	-- NULL: unknown job
	lease_id	INTEGER REFERENCES leases (id),	-- NULL: no lease matched
	worker_id	TEXT NOT NULL REFERENCES workers (id),
	nonce		BIGINT NOT NULL CHECK (nonce >= 0 AND nonce <= 4294967295),
	result		BLOB,				-- the claimed hash, 32 bytes
	difficulty	BIGINT NOT NULL CHECK (difficulty >= 0),	-- credited
	hash_difficulty	BIGINT NOT NULL DEFAULT 0 CHECK (hash_difficulty >= 0),
	verdict		TEXT NOT NULL CHECK (verdict IN ('accepted', 'rejected')),
	reason		TEXT NOT NULL CHECK (reason IN ('ok', 'unknown_job', 'stale',
			    'outside_lease', 'duplicate', 'bad_hash', 'low_difficulty',
			    'unauthorized', 'malformed')),
	block_candidate	INTEGER NOT NULL DEFAULT 0 CHECK (block_candidate IN (0, 1)),
	upstream	TEXT NOT NULL CHECK (upstream IN ('not_needed', 'pending',
			    'submitted', 'accepted', 'rejected', 'expired')),
	upstream_reason	TEXT,
	upstream_at	BIGINT,
	created_at	BIGINT NOT NULL,
	CHECK ((verdict = 'accepted') = (reason = 'ok')),
	CHECK (verdict = 'accepted' OR (difficulty = 0 AND upstream = 'not_needed'
	    AND block_candidate = 0)),
	CHECK (verdict = 'rejected' OR (job_id IS NOT NULL AND lease_id IS NOT NULL))
);
CREATE INDEX shares_created ON shares (created_at);
CREATE INDEX shares_worker ON shares (worker_id, id);
CREATE INDEX shares_job ON shares (job_id, nonce);
CREATE INDEX shares_upstream_pending ON shares (upstream) WHERE upstream = 'pending';
-- one credit per (job, nonce): the duplicate check, enforced by the engine
CREATE UNIQUE INDEX shares_job_nonce_once ON shares (job_id, nonce)
	WHERE verdict = 'accepted';

CREATE TABLE blocks (
	id		INTEGER PRIMARY KEY,
	share_id	INTEGER NOT NULL UNIQUE REFERENCES shares (id),
	height		BIGINT NOT NULL CHECK (height >= 0),
	hash		BLOB NOT NULL,
	network_difficulty BIGINT NOT NULL CHECK (network_difficulty >= 0),
	-- the PPLNS window N in share-difficulty units, fixed when found
	window_n	BIGINT NOT NULL CHECK (window_n > 0),
	fee_bps		INTEGER NOT NULL DEFAULT 0 CHECK (fee_bps >= 0 AND fee_bps <= 10000),
	status		TEXT NOT NULL CHECK (status IN ('candidate', 'submitted',
			    'accepted', 'rejected', 'orphaned')),
	reward		BIGINT CHECK (reward IS NULL OR reward >= 0),	-- atomic units
	found_at	BIGINT NOT NULL,
	updated_at	BIGINT NOT NULL
);
CREATE INDEX blocks_found ON blocks (found_at);

-- One row per worker with a part of a block's reward, plus one 'fee' row
-- (worker_id NULL) for the coordinator's fee.  Written once, when the
-- block's reward is known; computed by src/coordinator/pplns.c.
CREATE TABLE payouts (
	id		INTEGER PRIMARY KEY,
	block_id	INTEGER NOT NULL REFERENCES blocks (id),
	kind		TEXT NOT NULL CHECK (kind IN ('worker', 'fee')),
	worker_id	TEXT REFERENCES workers (id),
	amount		BIGINT NOT NULL CHECK (amount >= 0),
	window_difficulty BIGINT NOT NULL CHECK (window_difficulty >= 0),
	share_count	BIGINT NOT NULL CHECK (share_count >= 0),
	CHECK ((kind = 'fee') = (worker_id IS NULL)),
	UNIQUE (block_id, worker_id)
);
CREATE UNIQUE INDEX payouts_one_fee ON payouts (block_id) WHERE kind = 'fee';

CREATE TABLE settings (
	key		TEXT PRIMARY KEY,
	value		TEXT NOT NULL
);

-- Shares are append-only: only the upstream fate may change, and only
-- away from 'pending'/'submitted'.
CREATE TRIGGER shares_no_delete BEFORE DELETE ON shares
BEGIN
	SELECT RAISE(ABORT, 'shares are append-only: DELETE refused');
END;
CREATE TRIGGER shares_no_update BEFORE UPDATE OF id, job_id, lease_id,
    worker_id, nonce, result, difficulty, hash_difficulty, verdict, reason,
    block_candidate, created_at ON shares
BEGIN
	SELECT RAISE(ABORT, 'shares are append-only: credited fields cannot change');
END;
CREATE TRIGGER shares_fate_final BEFORE UPDATE OF upstream ON shares
	WHEN OLD.upstream NOT IN ('pending', 'submitted') AND NEW.upstream <> OLD.upstream
BEGIN
	SELECT RAISE(ABORT, 'shares: upstream fate is final');
END;
CREATE TRIGGER payouts_no_update BEFORE UPDATE ON payouts
BEGIN
	SELECT RAISE(ABORT, 'payouts are written once');
END;
CREATE TRIGGER payouts_no_delete BEFORE DELETE ON payouts
BEGIN
	SELECT RAISE(ABORT, 'payouts are written once');
END;
