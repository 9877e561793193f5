-- A workspace an organisation took the app away from (`team_access_revoked`): its
-- org-wide install no longer acts for it, until a request from it shows access again.
ALTER TABLE workspace_orgs ADD COLUMN revoked_at BIGINT;
