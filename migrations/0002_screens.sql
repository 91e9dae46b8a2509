-- The screens: registrar PINs for the desk panel, contested ratings, the supervisor's password.

-- argon2 PHC string; NULL = this registrar needs no PIN at the desk panel.
ALTER TABLE registrars ADD COLUMN pin_hash TEXT;

-- A registrar disputes one of their ratings; a supervisor upholds it or annuls the rating.
CREATE TABLE contests (
    id               INTEGER PRIMARY KEY,
    rating_id        INTEGER NOT NULL UNIQUE REFERENCES ratings (id),
    registrar_id     INTEGER NOT NULL REFERENCES registrars (id),
    comment          TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    decision         TEXT CHECK (decision IN ('upheld', 'annulled')),
    decision_comment TEXT,
    decided_by       TEXT,
    decided_at       INTEGER,
    CHECK ((decision IS NULL) = (decided_at IS NULL))
) STRICT;
CREATE INDEX contests_open ON contests (decided_at, id);

-- Secrets that never leave the engine (unlike settings, which the API shows).
CREATE TABLE secrets (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;
