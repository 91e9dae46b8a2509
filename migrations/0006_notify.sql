-- Alerts, operational reports and the webhook: every message is written here first, in the same
-- transaction as what caused it, then delivered by one worker per channel, oldest first.

CREATE TABLE outbox (
    id         INTEGER PRIMARY KEY,
    channel    TEXT NOT NULL CHECK (channel IN ('telegram', 'email', 'webhook')),
    target     TEXT NOT NULL,   -- a chat id, comma-separated addresses, or a URL
    kind       TEXT NOT NULL,   -- alert, voice, escalation, report, notice, test, webhook
    body       TEXT NOT NULL,   -- JSON: the message (attachments by file path)
    alert_id   INTEGER REFERENCES alerts (id),
    -- An alert waits (briefly) for the photo of this rating before it goes.
    photo_of   INTEGER,
    -- 0 goes before 1: a notice about the channel itself jumps the backlog.
    priority   INTEGER NOT NULL DEFAULT 1,
    state      TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'failed')),
    attempts   INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    sent_at    INTEGER,
    last_error TEXT,
    remote_ref TEXT             -- the channel's id for it (Telegram's message_id)
) STRICT;
CREATE INDEX outbox_pending ON outbox (channel, priority, id) WHERE state = 'pending';
CREATE INDEX outbox_failed ON outbox (channel) WHERE state = 'failed';
CREATE INDEX outbox_sent ON outbox (sent_at) WHERE state = 'sent';
CREATE INDEX outbox_alert ON outbox (alert_id) WHERE alert_id IS NOT NULL;

-- One per rating that matched an alert rule: open, taken, resolved.
CREATE TABLE alerts (
    id           INTEGER PRIMARY KEY,
    rating_id    INTEGER NOT NULL UNIQUE REFERENCES ratings (id),
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
    escalated_at INTEGER
) STRICT;
CREATE INDEX alerts_open ON alerts (escalate_at) WHERE state = 'open' AND escalated_at IS NULL;
CREATE INDEX alerts_created ON alerts (created_at);

-- Telegram chats subscribed with a pairing code; the bot answers only these.
CREATE TABLE telegram_chats (
    chat_id   INTEGER PRIMARY KEY,
    title     TEXT NOT NULL,
    role      TEXT NOT NULL DEFAULT 'main' CHECK (role IN ('main', 'escalation')),
    paired_at INTEGER NOT NULL
) STRICT;

-- "Resolved" asks for a cause with a reply prompt: which prompt belongs to which alert.
CREATE TABLE telegram_prompts (
    chat_id    INTEGER NOT NULL,
    message_id INTEGER NOT NULL,
    alert_id   INTEGER NOT NULL REFERENCES alerts (id),
    alert_message_id INTEGER NOT NULL, -- the alert's own message, whose buttons change
    PRIMARY KEY (chat_id, message_id)
) STRICT;

-- Report periods already sent (or skipped by their condition), so a restart sends none twice.
CREATE TABLE report_runs (
    rule       TEXT NOT NULL,   -- the rule's `every`
    period_end INTEGER NOT NULL,
    outcome    TEXT NOT NULL,   -- queued, skipped
    PRIMARY KEY (rule, period_end)
) STRICT;
