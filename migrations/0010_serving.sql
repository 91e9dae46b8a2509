-- An armed rating window: a desk may take presses only while its registrar is serving a patient
-- (from the registrar's panel, a key on the remote, or the queue system through the API).
-- Presses outside it are kept, flagged 'outside_serving' and counted apart, never dropped.

ALTER TABLE desks ADD COLUMN armed INTEGER NOT NULL DEFAULT 0 CHECK (armed IN (0, 1));

CREATE TABLE serving (
    id         INTEGER PRIMARY KEY,
    desk_id    INTEGER NOT NULL REFERENCES desks (id),
    started_at INTEGER NOT NULL,
    ended_at   INTEGER,
    source     TEXT NOT NULL CHECK (source IN ('panel', 'key', 'api')),
    ticket     TEXT, -- the queue system's ticket or visit, if it said
    CHECK (ended_at IS NULL OR ended_at >= started_at)
) STRICT;
CREATE UNIQUE INDEX serving_open_desk ON serving (desk_id) WHERE ended_at IS NULL;
CREATE INDEX serving_desk_time ON serving (desk_id, started_at);

-- A CHECK cannot be widened in place: the flags table is rebuilt with the new reason. The
-- roll-up triggers of 0005 that name it go first (a rename refuses a schema whose triggers name
-- a missing table) and are made again as they were.
DROP TRIGGER rating_hourly_annul;
DROP TRIGGER rating_hourly_restore;
CREATE TABLE rating_flags_new (
    rating_id INTEGER PRIMARY KEY REFERENCES ratings (id),
    reason    TEXT NOT NULL CHECK (reason IN ('burst', 'no_session', 'outside_serving'))
) STRICT;
INSERT INTO rating_flags_new SELECT rating_id, reason FROM rating_flags;
DROP TABLE rating_flags;
ALTER TABLE rating_flags_new RENAME TO rating_flags;

CREATE TRIGGER rating_hourly_flag AFTER INSERT ON rating_flags
BEGIN
    UPDATE rating_hourly SET n = n - 1
    WHERE (hour, desk_id, registrar_id, score, scale, state) =
          (SELECT at / 3600000, desk_id, COALESCE(registrar_id, 0), score, scale, 'ok' FROM ratings WHERE id = NEW.rating_id);
    INSERT INTO rating_hourly
    SELECT at / 3600000, desk_id, COALESCE(registrar_id, 0), score, scale, 'flagged', 1 FROM ratings WHERE id = NEW.rating_id
    ON CONFLICT DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER rating_hourly_annul AFTER INSERT ON annulled_ratings
BEGIN
    UPDATE rating_hourly SET n = n - 1
    WHERE (hour, desk_id, registrar_id, score, scale, state) =
          (SELECT at / 3600000, desk_id, COALESCE(registrar_id, 0), score, scale,
                  CASE WHEN EXISTS (SELECT 1 FROM rating_flags f WHERE f.rating_id = NEW.rating_id) THEN 'flagged' ELSE 'ok' END
           FROM ratings WHERE id = NEW.rating_id);
    INSERT INTO rating_hourly
    SELECT at / 3600000, desk_id, COALESCE(registrar_id, 0), score, scale, 'annulled', 1 FROM ratings WHERE id = NEW.rating_id
    ON CONFLICT DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER rating_hourly_restore AFTER DELETE ON annulled_ratings
BEGIN
    UPDATE rating_hourly SET n = n - 1
    WHERE (hour, desk_id, registrar_id, score, scale, state) =
          (SELECT at / 3600000, desk_id, COALESCE(registrar_id, 0), score, scale, 'annulled' FROM ratings WHERE id = OLD.rating_id);
    INSERT INTO rating_hourly
    SELECT at / 3600000, desk_id, COALESCE(registrar_id, 0), score, scale,
           CASE WHEN EXISTS (SELECT 1 FROM rating_flags f WHERE f.rating_id = OLD.rating_id) THEN 'flagged' ELSE 'ok' END, 1
    FROM ratings WHERE id = OLD.rating_id
    ON CONFLICT DO UPDATE SET n = n + 1;
END;
