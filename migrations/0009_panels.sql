-- Panels paired from the console: a desk's patient panel (taps) and registrar panel (check-in,
-- check-out, contests). A device proves it is one by a token, kept here only as its SHA-256.
CREATE TABLE panels (
    id          INTEGER PRIMARY KEY,
    desk_id     INTEGER NOT NULL REFERENCES desks (id),
    role        TEXT NOT NULL CHECK (role IN ('patient', 'registrar')),
    token_hash  TEXT NOT NULL UNIQUE,
    label       TEXT NOT NULL,     -- what the device said it is (its browser), for the console
    paired_at   INTEGER NOT NULL,
    paired_by   TEXT NOT NULL,
    revoked_at  INTEGER,
    revoked_by  TEXT
) STRICT;
