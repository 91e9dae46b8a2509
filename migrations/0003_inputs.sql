-- Rating inputs: where each desk's ratings come from, and ratings flagged as suspicious.

-- No row = the default: the patient panel (and the API, which is always open to the token).
CREATE TABLE desk_inputs (
    desk_id     INTEGER PRIMARY KEY REFERENCES desks (id),
    kind        TEXT NOT NULL CHECK (kind IN ('api', 'panel', 'keys', 'serial')),
    config      TEXT NOT NULL, -- JSON: {"keys": [...]} or {"path": ..., "baud": ...}
    debounce_ms INTEGER NOT NULL CHECK (debounce_ms BETWEEN 0 AND 60000)
) STRICT;

-- Kept, counted apart, shown to supervisors; decided when the rating is stored.
CREATE TABLE rating_flags (
    rating_id INTEGER PRIMARY KEY REFERENCES ratings (id),
    reason    TEXT NOT NULL CHECK (reason IN ('burst', 'no_session'))
) STRICT;
