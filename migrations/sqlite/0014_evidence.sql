-- Evidence: proof attached to a checklist item, a link or a file Slack keeps (the app
-- stores the file's id and permalink, never its bytes). Rows are only ever added; an
-- uninstall's purge deletes them with the rest of the workspace.
CREATE TABLE evidence (
    id          INTEGER PRIMARY KEY,
    team_id     TEXT    NOT NULL,
    customer_id BIGINT  NOT NULL REFERENCES customers (id),
    item_key    TEXT    NOT NULL,
    kind        TEXT    NOT NULL,           -- link | file
    url         TEXT    NOT NULL,           -- the link, or the file's permalink
    file_id     TEXT,                       -- Slack's file id (F…), for a file
    file_name   TEXT,                       -- the file's name, for a file
    note        TEXT,
    added_by    TEXT    NOT NULL,           -- Slack user id
    added_at    BIGINT  NOT NULL            -- Unix ms
);
-- An item's evidence, and a customer's in item order for the export.
CREATE INDEX evidence_by_item ON evidence (customer_id, item_key, added_at);

-- How many pieces each item holds, kept with the item's state so the checklist (and
-- SQLite's in-memory copy of it) shows the paperclip without a second query; the
-- limit per item is checked against it under the item's row lock.
ALTER TABLE item_states ADD COLUMN evidence_count BIGINT NOT NULL DEFAULT 0;
