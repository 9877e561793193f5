-- Roles given in Slack with `/readiness roles` (domain::roles). Someone without a row
-- is an admin if Slack says they are a workspace admin or owner, else the default role.
CREATE TABLE roles (
    team_id    TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    role       TEXT NOT NULL CHECK (role IN ('admin', 'csm', 'agent', 'viewer')),
    granted_by TEXT NOT NULL,
    granted_at BIGINT NOT NULL,
    PRIMARY KEY (team_id, user_id)
);
