-- Issue 7 (operator console): sign-in sessions, and indexes for the dashboard and profile search.
-- A session row holds only the SHA-256 hash of its cookie token (hex), the hash of the admin key it was opened with
-- (a revoked key kills it), its CSRF token, and its times. expires_at is the effective expiry: the earlier of the idle
-- deadline (last_seen_at + idle timeout) and the absolute one (created_at + lifetime).
CREATE TABLE console_sessions (
    token_hash    text        NOT NULL PRIMARY KEY,
    workspace_id  bigint      NOT NULL,
    key_hash      text        NOT NULL,
    csrf_token    text        NOT NULL,
    created_at    timestamptz NOT NULL,
    last_seen_at  timestamptz NOT NULL,
    expires_at    timestamptz NOT NULL
);
CREATE INDEX console_sessions_expiry ON console_sessions (expires_at);

-- Dashboard: events by receive time, messages by creation time, conversions by their time.
CREATE INDEX events_received ON events (workspace_id, received_at);
CREATE INDEX messages_created ON messages (workspace_id, created_at);
CREATE INDEX journey_conversions_at ON journey_conversions (workspace_id, at);

-- Profile search: recently seen profiles; prefix ranges over identity values in byte order (COLLATE "C"), whatever the
-- database's collation, so a prefix is an index range.
CREATE INDEX profiles_last_seen ON profiles (workspace_id, last_seen, id);
CREATE INDEX identities_prefix ON identities (workspace_id, kind, value COLLATE "C");
