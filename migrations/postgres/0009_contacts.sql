-- The customer's people named by a CSM (`/readiness customer acme contacts=@a,@b`):
-- customer-side wherever they are, whatever Slack says of them (a contact of any of a
-- workspace's customers holds no staff power in that workspace).
CREATE TABLE contacts (
    team_id     TEXT   NOT NULL,
    customer_id BIGINT NOT NULL REFERENCES customers (id),
    user_id     TEXT   NOT NULL,
    named_by    TEXT   NOT NULL,
    named_at    BIGINT NOT NULL,
    PRIMARY KEY (team_id, customer_id, user_id)
);
-- "Is this person anyone's contact here?" is asked by every command and click.
CREATE INDEX contacts_by_user ON contacts (team_id, user_id);

-- Which of the customer's messages open a ticket by themselves (`intake=`): all,
-- reaction, mention or off; NULL follows the policy's `[intake] mode`.
ALTER TABLE customers ADD COLUMN intake_mode TEXT;
CREATE INDEX tickets_by_assignee ON tickets (team_id, assignee);
