-- Customers, their checklist state and the checklist messages posted for them.
-- Times are Unix milliseconds (BIGINT) and flags 0/1 in both dialects, so the store
-- reads and binds the same Rust types against SQLite and PostgreSQL.

CREATE TABLE customers (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    team_id       TEXT    NOT NULL,          -- the Slack workspace; every lookup is scoped by it
    slug          TEXT    NOT NULL,
    name          TEXT    NOT NULL,
    tier          TEXT    NOT NULL,
    channel_id    TEXT,                      -- NULL until the channel exists
    channel_error TEXT,                      -- why creating the channel failed, if it did
    created_by    TEXT    NOT NULL,
    created_at    BIGINT  NOT NULL,
    -- Bumped by every change to the customer's checklist; a posted message whose
    -- rendered_version is behind it is re-rendered (the coalescing of updates).
    version       BIGINT  NOT NULL DEFAULT 0,
    UNIQUE (team_id, slug)
);
CREATE UNIQUE INDEX customers_by_channel ON customers (team_id, channel_id);
CREATE INDEX customers_by_name ON customers (team_id, name);

-- One row per touched item; an absent row is an untouched item. Rows are keyed by item
-- key, so an item dropped from a team's template keeps its history.
CREATE TABLE item_states (
    customer_id    BIGINT NOT NULL REFERENCES customers (id),
    item_key       TEXT   NOT NULL,
    done_by        TEXT,
    done_at        BIGINT,                   -- NULL: not done
    not_applicable BIGINT NOT NULL DEFAULT 0,
    assignee       TEXT,
    due_date       TEXT,                     -- YYYY-MM-DD, a calendar date
    note           TEXT,
    updated_by     TEXT   NOT NULL,
    updated_at     BIGINT NOT NULL,
    PRIMARY KEY (customer_id, item_key)
);

-- Every checklist message posted in a channel, so changes can chat.update all of them.
CREATE TABLE checklist_messages (
    customer_id      BIGINT NOT NULL REFERENCES customers (id),
    part             TEXT   NOT NULL,        -- 'overview' or 'category:<n>:<part>'
    channel_id       TEXT   NOT NULL,
    ts               TEXT   NOT NULL,
    rendered_version BIGINT NOT NULL,
    PRIMARY KEY (channel_id, ts)
);
CREATE INDEX checklist_messages_by_customer ON checklist_messages (customer_id);

-- Event ids already handled: Slack retries deliveries, and event_id is unique.
CREATE TABLE processed_events (
    event_id    TEXT   PRIMARY KEY,
    received_at BIGINT NOT NULL
);
