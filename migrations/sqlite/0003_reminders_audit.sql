-- Scheduled reminders, the customer lifecycle and the audit log.
-- Same conventions as 0001: Unix milliseconds, 0/1 flags, one SQL text for both
-- dialects in the store.

-- The customer's CSM (NULL: whoever created it), when it was archived (its reminders
-- stop), its go-live date (the milestones count from it) and the milestone reminders
-- switched off for it (comma-separated kinds).
ALTER TABLE customers ADD COLUMN csm TEXT;
ALTER TABLE customers ADD COLUMN archived_at BIGINT;
ALTER TABLE customers ADD COLUMN golive_on TEXT;
ALTER TABLE customers ADD COLUMN reminders_off TEXT NOT NULL DEFAULT '';

-- Every reminder is a due row of the scheduler, like an SLA timer: next_due_at is when
-- it next fires (NULL once done or cancelled). Firing records its post in the outbox
-- under 'rem:<id>:<occurrence>' and moves the row on, in one transaction.
CREATE TABLE reminders (
    id           INTEGER PRIMARY KEY,
    team_id      TEXT   NOT NULL,
    customer_id  BIGINT NOT NULL REFERENCES customers (id),
    kind         TEXT   NOT NULL,            -- custom | item_due | digest | hypercare | …
    unique_key   TEXT   UNIQUE,              -- one row per item / customer digest / milestone
    item_key     TEXT,                       -- item_due: the item
    recipient    TEXT,                       -- a user for DMs; NULL: the customer's channel
    text         TEXT   NOT NULL,
    recurrence   TEXT,                       -- canonical recurrence; NULL: once
    tz           TEXT   NOT NULL,            -- the zone its wall-clock times are in
    until_at     BIGINT,                     -- a recurrence ends after this
    next_due_at  BIGINT,
    occurrence   BIGINT NOT NULL DEFAULT 0,  -- times fired; part of the outbox key
    status       TEXT   NOT NULL DEFAULT 'active', -- active | done | cancelled
    created_by   TEXT   NOT NULL,
    created_at   BIGINT NOT NULL
);
CREATE INDEX reminders_due ON reminders (next_due_at);
CREATE INDEX reminders_by_customer ON reminders (customer_id, status);

-- Every change, appended; the app has no path that updates or deletes an entry, and
-- the database refuses both, except the scheduler's retention purge of entries older
-- than the seed's 90-day minimum.
CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY,
    team_id     TEXT   NOT NULL,
    customer_id BIGINT,
    actor       TEXT   NOT NULL,             -- Slack user id, or 'scheduler'
    source      TEXT   NOT NULL,             -- command | button | modal | event | scheduler | cli | start
    action      TEXT   NOT NULL,             -- item.ticked, ticket.opened, …
    subject     TEXT   NOT NULL,             -- what it is about: 1.1.2, T-4, acme, …
    before      TEXT,                        -- JSON
    after       TEXT,                        -- JSON
    at          BIGINT NOT NULL
);
CREATE INDEX audit_by_time ON audit_log (at);
CREATE INDEX audit_by_team ON audit_log (team_id, at);
CREATE INDEX audit_by_customer ON audit_log (customer_id, at);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
CREATE TRIGGER audit_log_keep_90_days BEFORE DELETE ON audit_log
WHEN old.at > (CAST(strftime('%s', 'now') AS INTEGER) - 90 * 86400) * 1000
BEGIN
    SELECT RAISE(ABORT, 'audit entries are kept at least 90 days');
END;
