-- Core schema: desks, registrars, work sessions, ratings (append-only, hash-chained), corrections, audit.
-- Times are INTEGER milliseconds since the Unix epoch, UTC.

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL -- JSON
) STRICT;

CREATE TABLE registrars (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    active     INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE desks (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    active     INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE work_sessions (
    id           INTEGER PRIMARY KEY,
    desk_id      INTEGER NOT NULL REFERENCES desks (id),
    registrar_id INTEGER NOT NULL REFERENCES registrars (id),
    started_at   INTEGER NOT NULL,
    ended_at     INTEGER,
    CHECK (ended_at IS NULL OR ended_at >= started_at)
) STRICT;
-- At most one open session per desk, and one per registrar.
CREATE UNIQUE INDEX work_sessions_open_desk ON work_sessions (desk_id) WHERE ended_at IS NULL;
CREATE UNIQUE INDEX work_sessions_open_registrar ON work_sessions (registrar_id) WHERE ended_at IS NULL;
CREATE INDEX work_sessions_desk_time ON work_sessions (desk_id, started_at);

CREATE TABLE ratings (
    id           INTEGER PRIMARY KEY,
    desk_id      INTEGER NOT NULL REFERENCES desks (id),
    score        INTEGER NOT NULL,
    scale        INTEGER NOT NULL, -- number of levels of the scale in force when it was given
    source       TEXT NOT NULL,
    at           INTEGER NOT NULL, -- when the patient pressed
    received_at  INTEGER NOT NULL, -- when Otklik stored it
    registrar_id INTEGER REFERENCES registrars (id),
    session_id   INTEGER REFERENCES work_sessions (id),
    hash         BLOB NOT NULL,    -- sha256 over the previous rating's hash and this row
    CHECK (score BETWEEN 1 AND scale)
) STRICT;
-- Covering the leaderboard query, so a period is read from the index alone.
CREATE INDEX ratings_at ON ratings (at, registrar_id, score, scale);
CREATE INDEX ratings_registrar_at ON ratings (registrar_id, at);
CREATE INDEX ratings_desk_at ON ratings (desk_id, at);

CREATE TRIGGER ratings_no_update BEFORE UPDATE ON ratings
BEGIN SELECT RAISE(ABORT, 'ratings are append-only: record a correction instead'); END;
CREATE TRIGGER ratings_no_delete BEFORE DELETE ON ratings
BEGIN SELECT RAISE(ABORT, 'ratings are append-only: record a correction instead'); END;

-- The last link of the chain, so that removing the newest ratings is noticed too.
CREATE TABLE chain_head (
    one     INTEGER PRIMARY KEY CHECK (one = 1),
    last_id INTEGER NOT NULL,
    hash    BLOB NOT NULL
) STRICT;

CREATE TABLE rating_corrections (
    id        INTEGER PRIMARY KEY,
    rating_id INTEGER NOT NULL REFERENCES ratings (id),
    action    TEXT NOT NULL CHECK (action IN ('annul', 'restore')),
    reason    TEXT NOT NULL,
    actor     TEXT NOT NULL,
    at        INTEGER NOT NULL
) STRICT;
CREATE INDEX rating_corrections_rating ON rating_corrections (rating_id, id);

CREATE TRIGGER rating_corrections_no_update BEFORE UPDATE ON rating_corrections
BEGIN SELECT RAISE(ABORT, 'corrections are append-only'); END;
CREATE TRIGGER rating_corrections_no_delete BEFORE DELETE ON rating_corrections
BEGIN SELECT RAISE(ABORT, 'corrections are append-only'); END;

-- Ratings whose latest correction annuls them; kept in step by the app in the same transaction.
CREATE TABLE annulled_ratings (
    rating_id INTEGER PRIMARY KEY REFERENCES ratings (id)
) STRICT, WITHOUT ROWID;

CREATE TABLE audit_log (
    id        INTEGER PRIMARY KEY,
    at        INTEGER NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    entity    TEXT NOT NULL,
    entity_id INTEGER,
    details   TEXT NOT NULL -- JSON
) STRICT;

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
