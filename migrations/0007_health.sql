-- The health monitor's memory: each device's and channel's state as last seen and since when,
-- and whether its outage was told, so that a restart neither repeats a notice nor loses the
-- "back" one.

CREATE TABLE health (
    component    TEXT PRIMARY KEY,  -- input:3, camera:2, microphone:2, channel:telegram, database
    state        TEXT NOT NULL CHECK (state IN ('ok', 'degraded', 'down')),
    since        INTEGER NOT NULL,  -- the first look that saw it in this state
    last_error   TEXT,              -- kept after it is back, until the next one
    -- 'sent': a notice said it is down (one saying it is back is owed); 'unsent': one was due
    -- but no working channel could carry it; NULL: nothing told.
    notice       TEXT CHECK (notice IN ('sent', 'unsent')),
    notice_since INTEGER,           -- the outage's start, as the notice said
    notice_via   TEXT,              -- JSON ["email", ...]: the channels the notice went through
    gone_at      INTEGER            -- no longer reported since then (forgotten after a while)
) STRICT;
