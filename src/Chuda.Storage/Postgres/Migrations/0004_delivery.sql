-- Chuda schema v4 for PostgreSQL: delivery. Message templates and their versions, the message outbox (every message
-- from a journey, the transactional API or a digest is a row; its due_at is the dispatcher's timer), each message's
-- timeline, subscriptions and the consent log, suppressed addresses, cool-downs and channel providers. Mirrors the
-- SQLite schema v4.
-- Timestamps are timestamptz at millisecond precision (the store truncates); durations are integer milliseconds. JSON
-- documents are text, kept byte-for-byte as written. Text that lists are ordered by is COLLATE "C", so the order is the
-- same as on SQLite.

CREATE TABLE templates (
    workspace_id      bigint      NOT NULL,
    id                text        COLLATE "C" NOT NULL,
    latest_version    integer     NOT NULL,
    approved_version  integer,
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    PRIMARY KEY (workspace_id, id)
);

CREATE TABLE template_versions (
    workspace_id  bigint      NOT NULL,
    template_id   text        COLLATE "C" NOT NULL,
    version       integer     NOT NULL,
    definition    text        NOT NULL,
    created_at    timestamptz NOT NULL,
    created_by    text,
    approved_at   timestamptz,
    approved_by   text,
    PRIMARY KEY (workspace_id, template_id, version)
);

-- id: the store-assigned message id (public as m_<id>); an identity never hands a value out twice. Messages are
-- updated at every dispatcher step, so pages keep room for HOT updates of the unindexed columns.
CREATE TABLE messages (
    id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id         bigint      NOT NULL,
    idempotency_key      text        NOT NULL,
    profile_id           bigint,
    address              text,
    source               text        NOT NULL,
    journey_key          bigint,
    step_id              text,
    template_id          text,
    inline_template      text,
    category             text        NOT NULL,
    lane                 integer     NOT NULL,
    channels             text        NOT NULL,
    channel_index        integer     NOT NULL,
    channel              text,
    recipient            text,
    provider             text,
    dedup_key            text,
    dedup_window_ms      bigint,
    digest_key           text,
    digest_window_ms     bigint,
    digest_id            bigint,
    fallback_after_ms    bigint,
    fallback_until       text,
    data                 text        NOT NULL,
    locale               text,
    status               text        NOT NULL,
    due_at               timestamptz,
    attempts             integer     NOT NULL,
    expires_at           timestamptz,
    created_at           timestamptz NOT NULL,
    dispatched_at        timestamptz,
    sent_at              timestamptz,
    delivered_at         timestamptz,
    opened_at            timestamptz,
    clicked_at           timestamptz,
    read_at              timestamptz,
    archived_at          timestamptz,
    provider_message_id  text,
    content              text,
    reason               text,
    UNIQUE (workspace_id, idempotency_key)
) WITH (fillfactor = 90);
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

-- Append-only; seq comes from the identity in insertion order.
CREATE TABLE message_events (
    seq           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id  bigint      NOT NULL,
    message_id    bigint      NOT NULL,
    profile_id    bigint,
    at            timestamptz NOT NULL,
    kind          text        NOT NULL,
    channel       text,
    detail        text        NOT NULL
);
CREATE INDEX message_events_message ON message_events (message_id, seq);
CREATE INDEX message_events_profile ON message_events (workspace_id, profile_id, seq) WHERE profile_id IS NOT NULL;

-- Current subscription per profile × category × channel ('*' = all channels).
CREATE TABLE subscriptions (
    workspace_id  bigint      NOT NULL,
    profile_id    bigint      NOT NULL,
    category      text        COLLATE "C" NOT NULL,
    channel       text        COLLATE "C" NOT NULL,
    state         integer     NOT NULL,
    source        text        NOT NULL,
    at            timestamptz NOT NULL,
    PRIMARY KEY (workspace_id, profile_id, category, channel)
);

-- Every consent change, append-only (who, what, where from, when).
CREATE TABLE consent_log (
    seq           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id  bigint      NOT NULL,
    profile_id    bigint      NOT NULL,
    category      text        NOT NULL,
    channel       text        NOT NULL,
    state         integer     NOT NULL,
    source        text        NOT NULL,
    at            timestamptz NOT NULL
);
CREATE INDEX consent_log_profile ON consent_log (workspace_id, profile_id, seq);

CREATE TABLE delivery_suppressions (
    workspace_id  bigint      NOT NULL,
    kind          text        COLLATE "C" NOT NULL,
    address       text        COLLATE "C" NOT NULL,
    reason        text        NOT NULL,
    detail        text,
    created_at    timestamptz NOT NULL,
    PRIMARY KEY (workspace_id, kind, address)
);

CREATE TABLE cool_downs (
    workspace_id  bigint      NOT NULL,
    profile_id    bigint      NOT NULL,
    until         timestamptz NOT NULL,
    reason        text        NOT NULL,
    created_at    timestamptz NOT NULL,
    PRIMARY KEY (workspace_id, profile_id)
);

-- Channel providers per workspace; config holds secrets (never returned by the API).
CREATE TABLE providers (
    workspace_id  bigint      NOT NULL,
    id            text        COLLATE "C" NOT NULL,
    channel       text        COLLATE "C" NOT NULL,
    kind          text        NOT NULL,
    priority      integer     NOT NULL,
    enabled       boolean     NOT NULL,
    config        text        NOT NULL,
    updated_at    timestamptz NOT NULL,
    PRIMARY KEY (workspace_id, id)
);
