-- Reports over months and years read hourly roll-ups instead of every rating. Triggers keep
-- them exact whoever writes (the engine, the demo filler): a rating counts as 'ok', 'flagged' or
-- 'annulled', and moves between them as flags and annulments are recorded.

CREATE TABLE rating_hourly (
    hour         INTEGER NOT NULL, -- at / 3600000 (UTC hours since the epoch)
    desk_id      INTEGER NOT NULL,
    registrar_id INTEGER NOT NULL, -- 0: nobody had a session open
    score        INTEGER NOT NULL,
    scale        INTEGER NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('ok', 'flagged', 'annulled')),
    n            INTEGER NOT NULL,
    PRIMARY KEY (hour, desk_id, registrar_id, score, scale, state)
) STRICT, WITHOUT ROWID;

CREATE TRIGGER rating_hourly_insert AFTER INSERT ON ratings
BEGIN
    INSERT INTO rating_hourly VALUES (NEW.at / 3600000, NEW.desk_id, COALESCE(NEW.registrar_id, 0), NEW.score, NEW.scale, 'ok', 1)
    ON CONFLICT DO UPDATE SET n = n + 1;
END;

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

-- What was there before this version.
INSERT INTO rating_hourly
SELECT r.at / 3600000, r.desk_id, COALESCE(r.registrar_id, 0), r.score, r.scale,
       CASE WHEN EXISTS (SELECT 1 FROM annulled_ratings a WHERE a.rating_id = r.id) THEN 'annulled'
            WHEN EXISTS (SELECT 1 FROM rating_flags f WHERE f.rating_id = r.id) THEN 'flagged'
            ELSE 'ok' END AS state,
       COUNT(*)
FROM ratings r GROUP BY 1, 2, 3, 4, 5, 6;
