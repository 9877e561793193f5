-- Support requests with their SLA clocks, the scheduler's due rows and the outbox.
-- Same conventions as 0001: Unix milliseconds, 0/1 flags, one SQL text for both
-- dialects in the store.

-- Ticket numbers are per workspace: T-1, T-2, …
CREATE TABLE ticket_numbers (
    team_id TEXT   PRIMARY KEY,
    last    BIGINT NOT NULL
);

CREATE TABLE tickets (
    id                 INTEGER PRIMARY KEY,
    team_id            TEXT   NOT NULL,
    number             BIGINT NOT NULL,
    customer_id        BIGINT NOT NULL REFERENCES customers (id),
    priority           TEXT   NOT NULL,      -- P0..P3
    summary            TEXT   NOT NULL,
    reporter           TEXT   NOT NULL,      -- Slack user id
    assignee           TEXT,
    opened_at          BIGINT NOT NULL,
    -- The SLA clock: business time used before running_since; running_since is NULL
    -- while the ticket waits on the customer (paused) or once it is resolved.
    used_ms            BIGINT NOT NULL,
    running_since      BIGINT,
    responded_at       BIGINT,
    responded_by       TEXT,
    response_used_ms   BIGINT,               -- business time used when first answered
    resolved_at        BIGINT,
    resolved_by        TEXT,
    resolution_used_ms BIGINT,
    escalations        BIGINT NOT NULL DEFAULT 0, -- "Escalate now" presses
    channel_id         TEXT   NOT NULL,      -- the customer channel the ticket lives in
    ts                 TEXT,                 -- its message there, once posted
    source_ts          TEXT,                 -- the message it was tracked from, if any
    version            BIGINT NOT NULL DEFAULT 0,
    UNIQUE (team_id, number)
);
CREATE INDEX tickets_open ON tickets (team_id, resolved_at);
CREATE INDEX tickets_by_message ON tickets (channel_id, ts);
CREATE INDEX tickets_by_source ON tickets (channel_id, source_ts);

-- The scheduler's due rows: one per open (ticket, target), pointing at the next
-- escalation level to fire. due_at is NULL while the clock is paused.
CREATE TABLE timers (
    id        INTEGER PRIMARY KEY,
    ticket_id BIGINT NOT NULL REFERENCES tickets (id),
    target    TEXT   NOT NULL,               -- first_response | resolution
    level     BIGINT NOT NULL,               -- the next level to fire, from 0
    due_at    BIGINT,
    UNIQUE (ticket_id, target)
);
CREATE INDEX timers_due ON timers (due_at);

-- Everything the app posts on its own, recorded before it is sent. idem_key names the
-- post ('esc:<ticket>:<target>:<level>', 'ticket:<id>:message', …): a second insert
-- of the same key does nothing. A ticket message row is re-armed (generation + 1) by
-- each change, so its updates coalesce.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    idem_key        TEXT   NOT NULL UNIQUE,
    team_id         TEXT   NOT NULL,
    channel_id      TEXT   NOT NULL,         -- where it goes; posts are paced per channel
    kind            TEXT   NOT NULL,
    ticket_id       BIGINT,
    body            TEXT   NOT NULL,         -- JSON
    status          TEXT   NOT NULL DEFAULT 'pending', -- pending | sent | failed | cancelled
    generation      BIGINT NOT NULL DEFAULT 0,
    attempts        BIGINT NOT NULL DEFAULT 0,
    in_doubt        BIGINT NOT NULL DEFAULT 0, -- a send may have reached Slack unrecorded
    next_attempt_at BIGINT NOT NULL,
    lease_owner     TEXT,
    lease_until     BIGINT,
    last_error      TEXT,
    created_at      BIGINT NOT NULL,
    sent_at         BIGINT,
    sent_ts         TEXT
);
CREATE INDEX outbox_heads ON outbox (status, channel_id, id);

-- When each channel may receive its next post (≈1 a second, across replicas).
CREATE TABLE outbox_channels (
    channel_id TEXT   PRIMARY KEY,
    next_at    BIGINT NOT NULL
);

-- The policy the open deadlines were planned with, so a changed policy re-plans them
-- at the next start (time used stays used under the old calendar).
CREATE TABLE planned_policy (
    id     BIGINT PRIMARY KEY,
    policy TEXT   NOT NULL
);

-- Escalation paths set by workspace admins in Slack (`/readiness escalation`); a row
-- here overrides the policy file's path for that priority.
CREATE TABLE escalation_paths (
    team_id  TEXT   NOT NULL,
    priority TEXT   NOT NULL,
    levels   TEXT   NOT NULL,                -- JSON array of Slack mentions
    set_by   TEXT   NOT NULL,
    set_at   BIGINT NOT NULL,
    PRIMARY KEY (team_id, priority)
);
