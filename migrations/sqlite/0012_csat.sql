-- Customer satisfaction: the first answer of a customer-side person to "how did it
-- go?", asked in the ticket's thread when it is resolved. One row per ticket: the
-- primary key makes the first answer win (an INSERT … ON CONFLICT DO NOTHING), however
-- many people click, and however often Slack retries.
CREATE TABLE csat_answers (
    ticket_id   BIGINT PRIMARY KEY REFERENCES tickets (id),
    team_id     TEXT   NOT NULL,
    customer_id BIGINT NOT NULL,
    rating      TEXT   NOT NULL,            -- good | okay | bad
    answered_by TEXT   NOT NULL,            -- Slack user id
    answered_at BIGINT NOT NULL             -- Unix ms
);
-- The App Home's last 30 days of a workspace.
CREATE INDEX csat_answers_recent ON csat_answers (team_id, answered_at);
