-- Next responses (issue 16): after staff's first answer, each new message of the
-- customer in a ticket's thread starts a round that staff's next reply meets.
-- The running round and the last one answered live on the ticket as JSON (what the
-- ticket message shows and the scheduler's timer reads):
--   {"awaiting": {"since", "by", "used_ms", "running_since"},
--    "last": {"since", "customer", "at", "by", "used_ms"}}   (times in Unix ms)
-- Its timer is a `timers` row with target 'next_response'.
ALTER TABLE tickets ADD COLUMN next_response TEXT;

-- Every round answered, for reports: met or breached is decided against the target
-- of the ticket's priority when the report is made, as for the other targets.
CREATE TABLE next_responses (
    ticket_id   BIGINT NOT NULL REFERENCES tickets (id),
    customer_id BIGINT NOT NULL,
    started_at  BIGINT NOT NULL,             -- when the customer wrote
    customer    TEXT   NOT NULL,             -- who wrote (Slack user id)
    answered_at BIGINT NOT NULL,
    answered_by TEXT   NOT NULL,
    used_ms     BIGINT NOT NULL,             -- business time until the answer
    PRIMARY KEY (ticket_id, started_at)
);
CREATE INDEX next_responses_by_customer ON next_responses (customer_id, started_at);
