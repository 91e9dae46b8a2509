-- Evidence around ratings: which desks take photos and audio, and the media files they made.

-- No row = no evidence at that desk (the whole feature is off by default).
CREATE TABLE desk_evidence (
    desk_id INTEGER PRIMARY KEY REFERENCES desks (id),
    config  TEXT NOT NULL -- JSON: photo, camera, audio, microphone
) STRICT;

-- One photo or clip; a clip may serve several ratings close together at one desk.
CREATE TABLE media (
    id          INTEGER PRIMARY KEY,
    desk_id     INTEGER NOT NULL REFERENCES desks (id),
    kind        TEXT NOT NULL CHECK (kind IN ('photo', 'audio')),
    state       TEXT NOT NULL CHECK (state IN ('saved', 'missing', 'purged')),
    file        TEXT,    -- a random name under media/; never taken from a request
    mime        TEXT,
    bytes       INTEGER,
    reason      TEXT,    -- why it is missing
    span_from   INTEGER, -- what it covers (ms since the epoch)
    span_to     INTEGER,
    created_at  INTEGER NOT NULL,
    purged_at   INTEGER
) STRICT;
CREATE INDEX media_saved ON media (kind, created_at) WHERE state = 'saved';

CREATE TABLE rating_media (
    rating_id INTEGER NOT NULL REFERENCES ratings (id),
    media_id  INTEGER NOT NULL REFERENCES media (id),
    PRIMARY KEY (rating_id, media_id)
) STRICT;
CREATE INDEX rating_media_media ON rating_media (media_id);
