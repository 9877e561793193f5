-- The OAuth install states already used: each state is good for one callback (one
-- that passed the browser-cookie check). A row outlives its state's expiry by the
-- state's lifetime, then goes.
CREATE TABLE oauth_states_used (
    nonce      TEXT   PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
CREATE INDEX oauth_states_used_by_expiry ON oauth_states_used (expires_at);
