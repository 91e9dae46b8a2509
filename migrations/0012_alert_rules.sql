-- Alert rules on windows of ratings (a share of low ones, a run of low or top ones). A window
-- alert is an alert like any other (taken, resolved, escalated) pointing at the rating that
-- made its condition true; that rating may have its own alert too, so `rating_id` is no longer
-- unique. The table is rebuilt (a UNIQUE cannot be dropped in place): the rows the outbox and
-- the Telegram prompts point at go out and come back within this transaction, their foreign
-- keys checked at its commit.
PRAGMA defer_foreign_keys = ON;
CREATE TABLE alerts_old AS SELECT * FROM alerts;
DROP TABLE alerts;
CREATE TABLE alerts (
    id           INTEGER PRIMARY KEY,
    rating_id    INTEGER NOT NULL REFERENCES ratings (id),
    -- JSON [[channel, target], ...]: where it went, so its voice follows the same way.
    targets      TEXT NOT NULL,
    state        TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'taken', 'resolved')),
    created_at   INTEGER NOT NULL,
    taken_by     TEXT,
    taken_at     INTEGER,
    resolved_by  TEXT,
    resolved_at  INTEGER,
    cause        TEXT,
    escalate_at  INTEGER,        -- still open then: escalate; NULL = never
    escalated_at INTEGER,
    -- NULL: the rating's own alert; else the window rule's kind (low_share, low_run) ...
    rule         TEXT,
    -- ... and what it saw, in words ("3 low ratings in a row").
    detail       TEXT
) STRICT;
INSERT INTO alerts (id, rating_id, targets, state, created_at, taken_by, taken_at, resolved_by,
                    resolved_at, cause, escalate_at, escalated_at)
SELECT id, rating_id, targets, state, created_at, taken_by, taken_at, resolved_by,
       resolved_at, cause, escalate_at, escalated_at FROM alerts_old;
DROP TABLE alerts_old;
CREATE INDEX alerts_open ON alerts (escalate_at) WHERE state = 'open' AND escalated_at IS NULL;
CREATE INDEX alerts_created ON alerts (created_at);
-- A rating's own alert stays one per rating.
CREATE UNIQUE INDEX alerts_rating_own ON alerts (rating_id) WHERE rule IS NULL;

-- Which window rules are firing, per desk or registrar: a rule fires once when its condition
-- becomes true and re-arms when it clears; kept here so a restart does not fire it again.
CREATE TABLE alert_rule_state (
    rule     TEXT NOT NULL,    -- the rule's key (kind and thresholds)
    scope    TEXT NOT NULL,    -- desk:ID or registrar:ID
    fired_at INTEGER NOT NULL,
    PRIMARY KEY (rule, scope)
) STRICT;
