-- Desk PCs: an Otklik at a desk (its buttons, camera, microphone) paired to the reception's
-- Otklik like a panel, with the role `desk_pc`, and forwarding its presses through the uplink
-- journal (0013), the link now saying where it goes.

-- SQLite cannot widen a CHECK in place: the panels table is rebuilt with the new role.
CREATE TABLE panels_new (
    id          INTEGER PRIMARY KEY,
    desk_id     INTEGER NOT NULL REFERENCES desks (id),
    role        TEXT NOT NULL CHECK (role IN ('patient', 'registrar', 'desk_pc')),
    token_hash  TEXT NOT NULL UNIQUE,
    label       TEXT NOT NULL,
    paired_at   INTEGER NOT NULL,
    paired_by   TEXT NOT NULL,
    revoked_at  INTEGER,
    revoked_by  TEXT
) STRICT;
INSERT INTO panels_new SELECT id, desk_id, role, token_hash, label, paired_at, paired_by, revoked_at, revoked_by FROM panels;
DROP TABLE panels;
ALTER TABLE panels_new RENAME TO panels;

-- `hub`: the network hub with a site key; `reception`: this is a desk PC forwarding to the
-- reception's Otklik with its desk_pc token.
ALTER TABLE uplink ADD COLUMN kind TEXT NOT NULL DEFAULT 'hub' CHECK (kind IN ('hub', 'reception'));

-- On the reception: where each desk PC's journal stands (the last seq applied), its clock
-- against this PC's at its last batch.
CREATE TABLE desk_pc_links (
    panel_id       INTEGER PRIMARY KEY REFERENCES panels (id),
    last_seq       INTEGER NOT NULL DEFAULT 0,
    last_seen      INTEGER,
    clock_drift_ms INTEGER  -- the desk PC's clock minus this PC's
) STRICT;

-- On the reception: each forwarded press once, by the id minted at the press (the desk PC's
-- own rating id), so a resent batch adds nothing.
CREATE TABLE desk_pc_ratings (
    panel_id  INTEGER NOT NULL REFERENCES panels (id),
    local_id  INTEGER NOT NULL,
    rating_id INTEGER NOT NULL REFERENCES ratings (id),
    PRIMARY KEY (panel_id, local_id)
) STRICT, WITHOUT ROWID;

-- On the desk PC: its photos and clips sent on to the reception after their ratings (or given
-- up on, with why), so each goes once.
CREATE TABLE uplink_media (
    media_id INTEGER PRIMARY KEY REFERENCES media (id),
    sent_at  INTEGER NOT NULL,
    outcome  TEXT NOT NULL  -- 'sent', or why it was not
) STRICT;

-- On the reception: each file a desk PC forwarded, once, by the desk PC's own media id.
CREATE TABLE desk_pc_media (
    panel_id INTEGER NOT NULL REFERENCES panels (id),
    local_id INTEGER NOT NULL,
    media_id INTEGER NOT NULL REFERENCES media (id),
    PRIMARY KEY (panel_id, local_id)
) STRICT, WITHOUT ROWID;
