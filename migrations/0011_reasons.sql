-- Reasons for low ratings: after a low rating the patient may pick one reason (waiting time,
-- rudeness, a mistake, ...) on the panel facing them, or on the registrar's panel when the desk
-- has a button remote or a serial box. One reason per rating, given once, never changed: the
-- table is append-only like the ratings. The code is stable; the label is kept as the patient
-- saw it, so a reason later removed from the settings still reads in old reports.

CREATE TABLE rating_reasons (
    rating_id INTEGER PRIMARY KEY REFERENCES ratings (id),
    code      TEXT NOT NULL,
    label     TEXT NOT NULL,
    picked_at INTEGER NOT NULL,
    via       TEXT NOT NULL CHECK (via IN ('patient_panel', 'registrar_panel', 'api'))
) STRICT;

CREATE TRIGGER rating_reasons_no_update BEFORE UPDATE ON rating_reasons
BEGIN SELECT RAISE(ABORT, 'reasons are append-only: a rating keeps the reason first picked'); END;
CREATE TRIGGER rating_reasons_no_delete BEFORE DELETE ON rating_reasons
BEGIN SELECT RAISE(ABORT, 'reasons are append-only: a rating keeps the reason first picked'); END;
