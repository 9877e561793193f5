-- Intake: a customer's own message becomes a ticket. intake_key names the message
-- ('<channel>:<ts>'); the unique index makes one message one ticket, whatever Slack
-- repeats (a retried event, two people adding the reaction, two replicas). NULL for
-- tickets opened by hand (NULLs never collide).
ALTER TABLE tickets ADD COLUMN intake_key TEXT;
-- The thread the ticket's card goes in when it goes under the customer's message
-- (the message's thread root); NULL: the card is a top-level post, as before.
ALTER TABLE tickets ADD COLUMN intake_thread TEXT;
-- Where the card was posted when that is not channel_id (the internal channel);
-- recorded at its first post, so its updates and escalations follow it.
ALTER TABLE tickets ADD COLUMN card_channel TEXT;
CREATE UNIQUE INDEX tickets_intake_key ON tickets (team_id, intake_key);
