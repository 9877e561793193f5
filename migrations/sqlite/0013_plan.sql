-- The onboarding plan (issue 17): the kickoff its `kickoff±Nd` dates count from, who
-- holds each role of the customer's onboarding team, and which due dates and
-- assignees the plan set (and may move) rather than a person.

-- YYYY-MM-DD, as golive_on: a calendar date in the customer's zone.
ALTER TABLE customers ADD COLUMN kickoff_on TEXT;

-- `/readiness team acme csm=@a …`: one person per role per customer.
CREATE TABLE onboarding_team (
    team_id     TEXT   NOT NULL,
    customer_id BIGINT NOT NULL REFERENCES customers (id),
    role        TEXT   NOT NULL,            -- csm | se | support | security | legal | customer
    user_id     TEXT   NOT NULL,
    named_by    TEXT   NOT NULL,
    named_at    BIGINT NOT NULL,
    PRIMARY KEY (team_id, customer_id, role)
);

-- 1: the plan set it, and re-planning may move it; 0 (every row from before): set by
-- a person, kept by every re-plan.
ALTER TABLE item_states ADD COLUMN due_planned BIGINT NOT NULL DEFAULT 0;
ALTER TABLE item_states ADD COLUMN assignee_planned BIGINT NOT NULL DEFAULT 0;
