-- Chuda schema v3 for PostgreSQL: journeys, their versions and runtime state (instances are the timers), the outgoing
-- requests their steps write (sends for the delivery pipeline, tasks, webhooks), funnel counters, conversions,
-- API-trigger idempotency, the audit log and workspace settings. Mirrors the SQLite schema v3.
-- Timestamps are timestamptz at millisecond precision (the store truncates), as in v1. JSON documents are text, kept
-- byte-for-byte as written (the store never looks inside them). Text that lists are ordered by is COLLATE "C", so the
-- order is the same as on SQLite.

-- key: the store-assigned number instance rows use; an identity never hands a value out twice.
CREATE TABLE journeys (
    key               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id      bigint      NOT NULL,
    id                text        COLLATE "C" NOT NULL,
    name              text        NOT NULL,
    status            integer     NOT NULL,
    latest_version    integer     NOT NULL,
    live_version      integer,
    pending_version   integer,
    pending_by        text,
    entries           bigint      NOT NULL DEFAULT 0,
    trigger_type      text        NOT NULL,
    next_run_at       timestamptz,
    run_cursor        bigint      NOT NULL DEFAULT 0,
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    revision          bigint      NOT NULL,
    UNIQUE (workspace_id, id)
);
CREATE INDEX journeys_next_run ON journeys (next_run_at) WHERE next_run_at IS NOT NULL;

CREATE TABLE journey_versions (
    workspace_id  bigint      NOT NULL,
    journey_key   bigint      NOT NULL,
    version       integer     NOT NULL,
    definition    text        NOT NULL,
    created_at    timestamptz NOT NULL,
    created_by    text,
    PRIMARY KEY (journey_key, version)
);

-- One row per entry of a profile into a journey. due_at is the timer; held_due_at keeps it while the journey is paused.
-- Instances are updated on every step, so pages keep room for HOT updates of the unindexed columns.
CREATE TABLE journey_instances (
    id               bigint      PRIMARY KEY,
    workspace_id     bigint      NOT NULL,
    journey_key      bigint      NOT NULL,
    version          integer     NOT NULL,
    profile_id       bigint      NOT NULL,
    routing_hash     integer     NOT NULL,
    status           integer     NOT NULL,
    step_id          text        COLLATE "C" NOT NULL,
    entered_at       timestamptz NOT NULL,
    step_entered_at  timestamptz NOT NULL,
    seq              integer     NOT NULL,
    due_at           timestamptz,
    held_due_at      timestamptz,
    wait_event       text,
    entry_key        text        COLLATE "C" NOT NULL,
    context          text        NOT NULL,
    end_reason       text,
    ended_at         timestamptz,
    updated_at       timestamptz NOT NULL,
    revision         bigint      NOT NULL
) WITH (fillfactor = 90);
-- The timer scan: due rows in (due, id) order.
CREATE INDEX journey_instances_due ON journey_instances (due_at, id) WHERE due_at IS NOT NULL;
-- A profile's instances (open ones on every batch that touches it; all for the API and re-entry checks).
CREATE INDEX journey_instances_profile ON journey_instances (workspace_id, profile_id, journey_key);
-- One entry per cause.
CREATE UNIQUE INDEX journey_instances_entry ON journey_instances (journey_key, profile_id, entry_key);
-- Waiting counts and walks over a journey's open instances; partial, so a walk that ends drops its entry and a step change inside a walk does not touch it.
CREATE INDEX journey_instances_open ON journey_instances (journey_key, status, id) WHERE status IN (0, 1);

-- Instance ids are reserved in blocks, like profile ids (advanced in their own autocommit statements).
INSERT INTO sequences (name, next_value) VALUES ('journey_instance_id', 1);

CREATE TABLE send_requests (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id     bigint      NOT NULL,
    profile_id       bigint      NOT NULL,
    journey_key      bigint      NOT NULL,
    version          integer     NOT NULL,
    instance_id      bigint      NOT NULL,
    step_id          text        NOT NULL,
    seq              integer     NOT NULL,
    idempotency_key  text        NOT NULL,
    template         text        NOT NULL,
    channels         text        NOT NULL,
    category         text        NOT NULL,
    dedup_key        text,
    context          text        NOT NULL,
    scheduled_for    timestamptz NOT NULL,
    created_at       timestamptz NOT NULL,
    status           text        NOT NULL,
    UNIQUE (instance_id, seq)
);
CREATE INDEX send_requests_profile ON send_requests (workspace_id, profile_id);

CREATE TABLE tasks (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id bigint      NOT NULL,
    profile_id   bigint      NOT NULL,
    journey_key  bigint      NOT NULL,
    instance_id  bigint      NOT NULL,
    step_id      text        NOT NULL,
    seq          integer     NOT NULL,
    title        text        NOT NULL,
    note         text,
    assignee     text        NOT NULL,
    from_queue   boolean     NOT NULL,
    due_at       timestamptz NOT NULL,
    status       text        NOT NULL,
    created_at   timestamptz NOT NULL,
    done_at      timestamptz,
    UNIQUE (instance_id, seq)
);
CREATE INDEX tasks_assignee ON tasks (workspace_id, assignee, due_at, id);
CREATE INDEX tasks_due ON tasks (workspace_id, due_at, id);
CREATE INDEX tasks_profile ON tasks (workspace_id, profile_id);

CREATE TABLE webhook_requests (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id     bigint      NOT NULL,
    profile_id       bigint      NOT NULL,
    journey_key      bigint      NOT NULL,
    instance_id      bigint      NOT NULL,
    step_id          text        NOT NULL,
    seq              integer     NOT NULL,
    idempotency_key  text        NOT NULL,
    url              text        NOT NULL,
    method           text        NOT NULL,
    headers          text        NOT NULL,
    body             text        NOT NULL,
    status           text        NOT NULL,
    attempts         integer     NOT NULL,
    next_attempt_at  timestamptz,
    last_status      integer,
    last_error       text,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    UNIQUE (instance_id, seq)
);
CREATE INDEX webhook_requests_due ON webhook_requests (next_attempt_at, id) WHERE status = 'pending';
CREATE INDEX webhook_requests_workspace ON webhook_requests (workspace_id, journey_key, id);
CREATE INDEX webhook_requests_profile ON webhook_requests (workspace_id, profile_id);

CREATE TABLE journey_conversions (
    workspace_id  bigint      NOT NULL,
    journey_key   bigint      NOT NULL,
    version       integer     NOT NULL,
    instance_id   bigint      NOT NULL PRIMARY KEY,
    profile_id    bigint      NOT NULL,
    at            timestamptz NOT NULL,
    last_step     text        NOT NULL,
    variants      text        NOT NULL
);
CREATE INDEX journey_conversions_journey ON journey_conversions (journey_key, instance_id);
CREATE INDEX journey_conversions_profile ON journey_conversions (workspace_id, profile_id);

-- Funnel counters, sharded by writer partition so concurrent writers never wait on one row.
CREATE TABLE journey_stats (
    workspace_id  bigint  NOT NULL,
    journey_key   bigint  NOT NULL,
    version       integer NOT NULL,
    step_id       text    COLLATE "C" NOT NULL,
    kind          text    COLLATE "C" NOT NULL,
    shard         integer NOT NULL,
    count         bigint  NOT NULL,
    PRIMARY KEY (journey_key, version, step_id, kind, shard)
);

CREATE TABLE journey_triggers (
    workspace_id     bigint      NOT NULL,
    journey_key      bigint      NOT NULL,
    idempotency_key  text        NOT NULL,
    body_hash        text        NOT NULL,
    outcome          text        NOT NULL,
    instance_id      bigint,
    created_at       timestamptz NOT NULL,
    PRIMARY KEY (workspace_id, journey_key, idempotency_key)
);

-- Append-only; seq comes from the identity in insertion order.
CREATE TABLE audit_log (
    seq          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id bigint      NOT NULL,
    at           timestamptz NOT NULL,
    actor        text        NOT NULL,
    action       text        NOT NULL,
    target_type  text        NOT NULL,
    target_id    text        NOT NULL,
    detail       text
);
CREATE INDEX audit_log_workspace ON audit_log (workspace_id, seq);

CREATE TABLE workspace_settings (
    workspace_id  bigint NOT NULL,
    name          text   COLLATE "C" NOT NULL,
    value         text   NOT NULL,
    PRIMARY KEY (workspace_id, name)
);
