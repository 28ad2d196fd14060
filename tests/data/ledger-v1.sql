-- ledger-v1.sql: a ledger as schema step 0001 left it (sqlite3 .dump of a
-- database built from sql/0001_tables.sql plus a few rows), kept to test
-- the migration to the current schema (tests/unit/test_ledger.c).
PRAGMA foreign_keys=OFF;
BEGIN TRANSACTION;
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
INSERT INTO workers VALUES('alice','Alice desktop',1700000000000,1700000060000,4,'0.1.0',2,1,20);
INSERT INTO workers VALUES('bob','Bob VM',1700000000000,1700000060000,2,'0.1.0',1,0,10);
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
INSERT INTO heartbeats VALUES(1,'alice',1700000030000,812.5,1,0,24000,30000,0.9000000000000000222,0.29999999999999998889,55.0);
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
INSERT INTO upstream_sessions VALUES(1,'stratum+tcp://127.0.0.1:3333',1700000000000,NULL);
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
INSERT INTO jobs VALUES(1,1,'job-1',X'0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000',X'0000000000000000000000000000000000000000000000000000000000000000',1000,'0000000000001999',10,486604799,NULL,1700000000500,1,NULL);
CREATE TABLE leases (
	id		INTEGER PRIMARY KEY,
	job_id		INTEGER NOT NULL REFERENCES jobs (id),
	worker_id	TEXT NOT NULL REFERENCES workers (id),
	nonce_start	BIGINT NOT NULL CHECK (nonce_start >= 0),
	nonce_end	BIGINT NOT NULL CHECK (nonce_end > nonce_start AND nonce_end <= 4294967296),
	issued_at	BIGINT NOT NULL,
	released_at	BIGINT CHECK (released_at IS NULL OR released_at >= issued_at)
);
INSERT INTO leases VALUES(1,1,'alice',0,1000000,1700000001000,NULL);
INSERT INTO leases VALUES(2,1,'bob',1000000,2000000,1700000001000,NULL);
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
INSERT INTO shares VALUES(1,1,1,'alice',17,X'0000000000000000000000000000000000000000000000000000000000000000',10,12,'accepted','ok',0,'accepted',NULL,1700000010000,1700000009000);
INSERT INTO shares VALUES(2,1,2,'bob',1000005,X'0000000000000000000000000000000000000000000000000000000000000000',10,40,'accepted','ok',0,'pending',NULL,NULL,1700000020000);
INSERT INTO shares VALUES(3,1,1,'alice',99,X'0000000000000000000000000000000000000000000000000000000000000000',0,3,'rejected','low_difficulty',0,'not_needed',NULL,NULL,1700000030000);
INSERT INTO shares VALUES(4,1,1,'alice',123,X'0000000000000000000000000000000000000000000000000000000000000000',10,99999,'accepted','ok',1,'submitted',NULL,NULL,1700000040000);
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
INSERT INTO blocks VALUES(1,4,1000,X'0000000000000000000000000000000000000000000000000000000000000000',10,25,100,'accepted',1000,1700000040000,1700000050000);
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
INSERT INTO payouts VALUES(1,1,'fee',NULL,10,25,0);
INSERT INTO payouts VALUES(2,1,'worker','alice',594,15,2);
INSERT INTO payouts VALUES(3,1,'worker','bob',396,10,1);
CREATE TABLE settings (
	key		TEXT PRIMARY KEY,
	value		TEXT NOT NULL
);
CREATE INDEX heartbeats_worker_at ON heartbeats (worker_id, at);
CREATE INDEX heartbeats_at ON heartbeats (at);
CREATE INDEX jobs_session ON jobs (session_id);
CREATE INDEX leases_job_start ON leases (job_id, nonce_start);
CREATE INDEX leases_worker ON leases (worker_id);
CREATE INDEX shares_created ON shares (created_at);
CREATE INDEX shares_worker ON shares (worker_id, id);
CREATE INDEX shares_job ON shares (job_id, nonce);
CREATE INDEX shares_upstream_pending ON shares (upstream) WHERE upstream = 'pending';
CREATE UNIQUE INDEX shares_job_nonce_once ON shares (job_id, nonce)
	WHERE verdict = 'accepted';
CREATE INDEX blocks_found ON blocks (found_at);
CREATE UNIQUE INDEX payouts_one_fee ON payouts (block_id) WHERE kind = 'fee';
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
COMMIT;
PRAGMA application_id = 1131367790;
PRAGMA user_version = 1;
