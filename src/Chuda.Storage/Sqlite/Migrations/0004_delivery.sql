-- Chuda schema v4 for SQLite: delivery. Message templates and their versions, the message outbox (every message
-- from a journey, the transactional API or a digest is a row; its due_at is the dispatcher's timer), each message's
-- timeline, subscriptions and the consent log, suppressed addresses, cool-downs and channel providers.
-- Timestamps are integer unix milliseconds (UTC).

CREATE TABLE templates (
    workspace_id      INTEGER NOT NULL,
    id                TEXT    NOT NULL,
    latest_version    INTEGER NOT NULL,
    approved_version  INTEGER,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, id)
) WITHOUT ROWID;

CREATE TABLE template_versions (
    workspace_id  INTEGER NOT NULL,
    template_id   TEXT    NOT NULL,
    version       INTEGER NOT NULL,
    definition    TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    created_by    TEXT,
    approved_at   INTEGER,
    approved_by   TEXT,
    PRIMARY KEY (workspace_id, template_id, version)
) WITHOUT ROWID;

CREATE TABLE messages (
    id                   INTEGER PRIMARY KEY,
    workspace_id         INTEGER NOT NULL,
    idempotency_key      TEXT    NOT NULL,
    profile_id           INTEGER,
    address              TEXT,
    source               TEXT    NOT NULL,
    journey_key          INTEGER,
    step_id              TEXT,
    template_id          TEXT,
    inline_template      TEXT,
    category             TEXT    NOT NULL,
    lane                 INTEGER NOT NULL,
    channels             TEXT    NOT NULL,
    channel_index        INTEGER NOT NULL,
    channel              TEXT,
    recipient            TEXT,
    provider             TEXT,
    dedup_key            TEXT,
    dedup_window_ms      INTEGER,
    digest_key           TEXT,
    digest_window_ms     INTEGER,
    digest_id            INTEGER,
    fallback_after_ms    INTEGER,
    fallback_until       TEXT,
    data                 TEXT    NOT NULL,
    locale               TEXT,
    status               TEXT    NOT NULL,
    due_at               INTEGER,
    attempts             INTEGER NOT NULL,
    expires_at           INTEGER,
    created_at           INTEGER NOT NULL,
    dispatched_at        INTEGER,
    sent_at              INTEGER,
    delivered_at         INTEGER,
    opened_at            INTEGER,
    clicked_at           INTEGER,
    read_at              INTEGER,
    archived_at          INTEGER,
    provider_message_id  TEXT,
    content              TEXT,
    reason               TEXT,
    UNIQUE (workspace_id, idempotency_key)
);
-- The dispatcher's timer scan, per lane.
CREATE INDEX messages_due ON messages (lane, due_at, id) WHERE due_at IS NOT NULL;
-- A person's messages (timeline, caps, de-duplication, inbox).
CREATE INDEX messages_profile ON messages (workspace_id, profile_id, id) WHERE profile_id IS NOT NULL;
-- One open digest per person and key: concurrent items join it rather than opening a second.
CREATE UNIQUE INDEX messages_open_digest ON messages (workspace_id, profile_id, digest_key) WHERE status = 'collecting';
-- Items of a digest.
CREATE INDEX messages_digest_items ON messages (digest_id) WHERE digest_id IS NOT NULL;
-- Provider callbacks find the message by the provider's id.
CREATE INDEX messages_provider_id ON messages (provider_message_id) WHERE provider_message_id IS NOT NULL;

CREATE TABLE message_events (
    seq           INTEGER PRIMARY KEY,
    workspace_id  INTEGER NOT NULL,
    message_id    INTEGER NOT NULL,
    profile_id    INTEGER,
    at            INTEGER NOT NULL,
    kind          TEXT    NOT NULL,
    channel       TEXT,
    detail        TEXT    NOT NULL
);
CREATE INDEX message_events_message ON message_events (message_id, seq);
CREATE INDEX message_events_profile ON message_events (workspace_id, profile_id, seq) WHERE profile_id IS NOT NULL;

-- Current subscription per profile × category × channel ('*' = all channels).
CREATE TABLE subscriptions (
    workspace_id  INTEGER NOT NULL,
    profile_id    INTEGER NOT NULL,
    category      TEXT    NOT NULL,
    channel       TEXT    NOT NULL,
    state         INTEGER NOT NULL,
    source        TEXT    NOT NULL,
    at            INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, profile_id, category, channel)
) WITHOUT ROWID;

-- Every consent change, append-only (who, what, where from, when).
CREATE TABLE consent_log (
    seq           INTEGER PRIMARY KEY,
    workspace_id  INTEGER NOT NULL,
    profile_id    INTEGER NOT NULL,
    category      TEXT    NOT NULL,
    channel       TEXT    NOT NULL,
    state         INTEGER NOT NULL,
    source        TEXT    NOT NULL,
    at            INTEGER NOT NULL
);
CREATE INDEX consent_log_profile ON consent_log (workspace_id, profile_id, seq);

CREATE TABLE delivery_suppressions (
    workspace_id  INTEGER NOT NULL,
    kind          TEXT    NOT NULL,
    address       TEXT    NOT NULL,
    reason        TEXT    NOT NULL,
    detail        TEXT,
    created_at    INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, kind, address)
) WITHOUT ROWID;

CREATE TABLE cool_downs (
    workspace_id  INTEGER NOT NULL,
    profile_id    INTEGER NOT NULL,
    until         INTEGER NOT NULL,
    reason        TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, profile_id)
) WITHOUT ROWID;

-- Channel providers per workspace; config holds secrets (never returned by the API).
CREATE TABLE providers (
    workspace_id  INTEGER NOT NULL,
    id            TEXT    NOT NULL,
    channel       TEXT    NOT NULL,
    kind          TEXT    NOT NULL,
    priority      INTEGER NOT NULL,
    enabled       INTEGER NOT NULL,
    config        TEXT    NOT NULL,
    updated_at    INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, id)
) WITHOUT ROWID;
