-- 0003_integrity.sql: who may mine (schema step 3).  Revocations and
-- quarantines are events, never edits: the state of an identity is its
-- newest row.  The coordinator writes quarantines (too many invalid
-- shares) and the dashboard's commands; coopmine-cli writes the
-- operator's (workers revoke | unrevoke | release); the coordinator reads
-- new rows within a second and on every start, so a revoked certificate
-- name stays refused across restarts.  Portable SQL; triggers are SQLite's.

CREATE TABLE worker_access (
	id		INTEGER PRIMARY KEY,
	-- a certificate CN; not a reference: a name can be revoked before
	-- it ever connects
	worker_id	TEXT NOT NULL CHECK (length(worker_id) BETWEEN 1 AND 64),
	action		TEXT NOT NULL CHECK (action IN ('allow', 'quarantine',
			    'revoke')),
	reason		TEXT NOT NULL DEFAULT '',
	at		BIGINT NOT NULL,
	source		TEXT NOT NULL CHECK (source IN ('coordinator', 'cli',
			    'dashboard'))
);
CREATE INDEX worker_access_worker ON worker_access (worker_id, id);

-- The state of every identity that ever had a row: its newest action.
CREATE VIEW worker_access_now AS
SELECT a.worker_id, a.action AS state, a.reason, a.at, a.source, a.id
FROM worker_access a
WHERE a.id = (SELECT max(b.id) FROM worker_access b
    WHERE b.worker_id = a.worker_id);

CREATE TRIGGER worker_access_no_update BEFORE UPDATE ON worker_access
BEGIN
	SELECT RAISE(ABORT, 'worker_access is append-only: add a row instead');
END;
CREATE TRIGGER worker_access_no_delete BEFORE DELETE ON worker_access
BEGIN
	SELECT RAISE(ABORT, 'worker_access is append-only: add a row instead');
END;
