-- Chuda schema v1 for SQLite. Timestamps are integer unix milliseconds (UTC); JSON is stored as text.
-- No foreign keys: every statement filters by workspace_id, and the single writer keeps rows consistent.

CREATE TABLE workspaces (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT    NOT NULL UNIQUE,
    salt        TEXT    NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE api_keys (
    hash            TEXT    NOT NULL PRIMARY KEY,
    workspace_id    INTEGER NOT NULL,
    kind            INTEGER NOT NULL,
    instance_admin  INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    revoked_at      INTEGER
);
CREATE INDEX api_keys_workspace ON api_keys (workspace_id, kind);

-- Store-wide counters. profile_id: the next profile id not yet handed out (ids are never reused).
CREATE TABLE sequences (
    name        TEXT    NOT NULL PRIMARY KEY,
    next_value  INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO sequences (name, next_value) VALUES ('profile_id', 1);

-- Profile ids are unique across the store, so the id is the rowid.
CREATE TABLE profiles (
    id            INTEGER PRIMARY KEY,
    workspace_id  INTEGER NOT NULL,
    user_id       TEXT,
    routing_hash  INTEGER NOT NULL,
    traits        TEXT    NOT NULL,
    tags          TEXT    NOT NULL,
    timezone      TEXT,
    locale        TEXT,
    suppressed    INTEGER NOT NULL,
    first_seen    INTEGER NOT NULL,
    last_seen     INTEGER NOT NULL,
    version       INTEGER NOT NULL
);
CREATE INDEX profiles_workspace ON profiles (workspace_id);

CREATE TABLE identities (
    workspace_id  INTEGER NOT NULL,
    kind          TEXT    NOT NULL,
    value         TEXT    NOT NULL,
    profile_id    INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, kind, value)
) WITHOUT ROWID;
CREATE INDEX identities_profile ON identities (workspace_id, profile_id);

-- Append-only event log. AUTOINCREMENT so a seq is never handed out twice, even after the newest rows are erased.
CREATE TABLE events (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id  INTEGER NOT NULL,
    profile_id    INTEGER NOT NULL,
    message_id    TEXT    NOT NULL,
    type          TEXT    NOT NULL,
    name          TEXT,
    occurred_at   INTEGER NOT NULL,
    received_at   INTEGER NOT NULL,
    payload       TEXT    NOT NULL
);
-- The rowid (seq) is implicitly the last column of every index, so this serves
-- ORDER BY occurred_at DESC, seq DESC for one profile.
CREATE INDEX events_profile ON events (workspace_id, profile_id, occurred_at);

-- De-duplication of message ids, keyed by the id itself. Segment libraries generate time-prefixed ids
-- (analytics-node: node-next-<ms>-<uuid>, analytics.js: ajs-next-<ms>-...), and Chuda's own are UUIDv7, so new keys
-- land at the right edge of their library's key range and inserts touch few pages; a hash would scatter them.
CREATE TABLE message_ids (
    workspace_id  INTEGER NOT NULL,
    message_id    TEXT    NOT NULL,
    PRIMARY KEY (workspace_id, message_id)
) WITHOUT ROWID;

CREATE TABLE suppressions (
    workspace_id  INTEGER NOT NULL,
    hash          TEXT    NOT NULL,
    kind          TEXT    NOT NULL,
    reason        TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, hash)
) WITHOUT ROWID;
