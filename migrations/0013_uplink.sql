-- The uplink to a network hub: while this installation is linked (a row in `uplink`), every
-- change the hub keeps is journaled by these triggers in the transaction that makes it, so no
-- code path can forget one and nothing is lost if the process dies before it is sent. The
-- worker sends the journal oldest first and deletes what the hub acknowledged; AUTOINCREMENT
-- keeps a deleted seq from ever being reused (the hub drops a seq it has seen as a repeat).

CREATE TABLE uplink (
    one       INTEGER PRIMARY KEY CHECK (one = 1),
    hub_url   TEXT NOT NULL,
    linked_at INTEGER NOT NULL
) STRICT;

-- The network's person a registrar is (the hub's id): one who works at two sites is then one
-- person in the network's reports.
ALTER TABLE registrars ADD COLUMN person_id INTEGER;

-- What the hub sends down, as last pulled: its people and a settings template, each versioned.
CREATE TABLE network_roster (
    one                      INTEGER PRIMARY KEY CHECK (one = 1),
    version                  INTEGER NOT NULL,
    people                   TEXT NOT NULL, -- JSON: [otklik_domain::link::Person]
    template_version         INTEGER NOT NULL,
    template                 TEXT,          -- JSON: a settings patch, or NULL
    applied_template_version INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE uplink_journal (
    seq  INTEGER PRIMARY KEY AUTOINCREMENT,
    body TEXT NOT NULL, -- JSON: otklik_domain::link::Change
    at   INTEGER NOT NULL DEFAULT (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))
);

CREATE TRIGGER uplink_desk_new AFTER INSERT ON desks
WHEN EXISTS (SELECT 1 FROM uplink)
BEGIN INSERT INTO uplink_journal (body) VALUES (json_object('kind', 'desk', 'id', NEW.id, 'name', NEW.name, 'active', json(CASE WHEN NEW.active THEN 'true' ELSE 'false' END))); END;
CREATE TRIGGER uplink_desk_change AFTER UPDATE OF name, active ON desks
WHEN EXISTS (SELECT 1 FROM uplink)
BEGIN INSERT INTO uplink_journal (body) VALUES (json_object('kind', 'desk', 'id', NEW.id, 'name', NEW.name, 'active', json(CASE WHEN NEW.active THEN 'true' ELSE 'false' END))); END;
CREATE TRIGGER uplink_registrar_new AFTER INSERT ON registrars
WHEN EXISTS (SELECT 1 FROM uplink)
BEGIN INSERT INTO uplink_journal (body) VALUES (json_object('kind', 'registrar', 'id', NEW.id, 'name', NEW.name, 'active', json(CASE WHEN NEW.active THEN 'true' ELSE 'false' END), 'person_id', NEW.person_id)); END;
CREATE TRIGGER uplink_registrar_change AFTER UPDATE OF name, active, person_id ON registrars
WHEN EXISTS (SELECT 1 FROM uplink)
BEGIN INSERT INTO uplink_journal (body) VALUES (json_object('kind', 'registrar', 'id', NEW.id, 'name', NEW.name, 'active', json(CASE WHEN NEW.active THEN 'true' ELSE 'false' END), 'person_id', NEW.person_id)); END;
CREATE TRIGGER uplink_session_new AFTER INSERT ON work_sessions
WHEN EXISTS (SELECT 1 FROM uplink)
BEGIN INSERT INTO uplink_journal (body) VALUES (json_object('kind', 'session', 'id', NEW.id, 'desk_id', NEW.desk_id, 'registrar_id', NEW.registrar_id, 'started_at', NEW.started_at, 'ended_at', NEW.ended_at)); END;
CREATE TRIGGER uplink_session_change AFTER UPDATE OF ended_at ON work_sessions
WHEN EXISTS (SELECT 1 FROM uplink)
BEGIN INSERT INTO uplink_journal (body) VALUES (json_object('kind', 'session', 'id', NEW.id, 'desk_id', NEW.desk_id, 'registrar_id', NEW.registrar_id, 'started_at', NEW.started_at, 'ended_at', NEW.ended_at)); END;
CREATE TRIGGER uplink_alert_new AFTER INSERT ON alerts
WHEN EXISTS (SELECT 1 FROM uplink)
BEGIN INSERT INTO uplink_journal (body) VALUES (json_object('kind', 'alert', 'id', NEW.id, 'rating_id', NEW.rating_id, 'state', NEW.state, 'created_at', NEW.created_at, 'rule', NEW.rule, 'taken_at', NEW.taken_at, 'resolved_at', NEW.resolved_at)); END;
CREATE TRIGGER uplink_alert_change AFTER UPDATE OF state ON alerts
WHEN EXISTS (SELECT 1 FROM uplink)
BEGIN INSERT INTO uplink_journal (body) VALUES (json_object('kind', 'alert', 'id', NEW.id, 'rating_id', NEW.rating_id, 'state', NEW.state, 'created_at', NEW.created_at, 'rule', NEW.rule, 'taken_at', NEW.taken_at, 'resolved_at', NEW.resolved_at)); END;
CREATE TRIGGER uplink_rating AFTER INSERT ON ratings
WHEN EXISTS (SELECT 1 FROM uplink)
BEGIN INSERT INTO uplink_journal (body) VALUES (json_object('kind', 'rating', 'id', NEW.id, 'desk_id', NEW.desk_id, 'score', NEW.score, 'scale', NEW.scale, 'source', NEW.source, 'at', NEW.at, 'received_at', NEW.received_at, 'registrar_id', NEW.registrar_id, 'session_id', NEW.session_id)); END;
CREATE TRIGGER uplink_flag AFTER INSERT ON rating_flags
WHEN EXISTS (SELECT 1 FROM uplink)
BEGIN INSERT INTO uplink_journal (body) VALUES (json_object('kind', 'flag', 'rating_id', NEW.rating_id, 'reason', NEW.reason)); END;
CREATE TRIGGER uplink_correction AFTER INSERT ON rating_corrections
WHEN EXISTS (SELECT 1 FROM uplink)
BEGIN INSERT INTO uplink_journal (body) VALUES (json_object('kind', 'correction', 'id', NEW.id, 'rating_id', NEW.rating_id, 'action', NEW.action, 'at', NEW.at)); END;
CREATE TRIGGER uplink_reason AFTER INSERT ON rating_reasons
WHEN EXISTS (SELECT 1 FROM uplink)
BEGIN INSERT INTO uplink_journal (body) VALUES (json_object('kind', 'reason', 'rating_id', NEW.rating_id, 'code', NEW.code, 'label', NEW.label, 'picked_at', NEW.picked_at)); END;
