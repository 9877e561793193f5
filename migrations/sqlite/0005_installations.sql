-- Installs through the OAuth flow, one row per workspace (or per Enterprise Grid
-- organisation, for an org-wide install). The bot token is sealed with AES-256-GCM
-- (crypto.rs) and never stored in the clear; it is NULL once the app was uninstalled
-- or its token revoked. The row stays until the workspace's data is purged, after the
-- retention period (policy `retention.uninstalled`).
CREATE TABLE installations (
    workspace      TEXT   PRIMARY KEY,      -- the team id, or the enterprise id of an org install
    team_id        TEXT,                    -- NULL for an org install
    enterprise_id  TEXT,
    org_install    BIGINT NOT NULL DEFAULT 0,
    team_name      TEXT   NOT NULL DEFAULT '',
    app_id         TEXT   NOT NULL DEFAULT '',
    bot_user_id    TEXT   NOT NULL DEFAULT '',
    scope          TEXT   NOT NULL DEFAULT '',
    bot_token      TEXT,                    -- sealed: rd1:<key id>:<nonce ‖ ciphertext>
    installed_by   TEXT   NOT NULL,
    installed_at   BIGINT NOT NULL,
    uninstalled_at BIGINT
);

-- The workspaces of an org install: learned from the requests they send (which carry
-- both ids), so that scheduled work for a workspace finds its organisation's token.
CREATE TABLE workspace_orgs (
    team_id       TEXT PRIMARY KEY,
    enterprise_id TEXT NOT NULL
);
