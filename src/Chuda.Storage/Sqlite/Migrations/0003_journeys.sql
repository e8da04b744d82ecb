-- Chuda schema v3 for SQLite: journeys, their versions and runtime state (instances are the timers), the outgoing
-- requests their steps write (sends for the delivery pipeline, tasks, webhooks), funnel counters, conversions,
-- API-trigger idempotency, the audit log and workspace settings. Timestamps are integer unix milliseconds (UTC).

CREATE TABLE journeys (
    key               INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id      INTEGER NOT NULL,
    id                TEXT    NOT NULL,
    name              TEXT    NOT NULL,
    status            INTEGER NOT NULL,
    latest_version    INTEGER NOT NULL,
    live_version      INTEGER,
    pending_version   INTEGER,
    pending_by        TEXT,
    entries           INTEGER NOT NULL DEFAULT 0,
    trigger_type      TEXT    NOT NULL,
    next_run_at       INTEGER,
    run_cursor        INTEGER NOT NULL DEFAULT 0,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    revision          INTEGER NOT NULL,
    UNIQUE (workspace_id, id)
);
CREATE INDEX journeys_next_run ON journeys (next_run_at) WHERE next_run_at IS NOT NULL;

CREATE TABLE journey_versions (
    workspace_id  INTEGER NOT NULL,
    journey_key   INTEGER NOT NULL,
    version       INTEGER NOT NULL,
    definition    TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    created_by    TEXT,
    PRIMARY KEY (journey_key, version)
) WITHOUT ROWID;

-- One row per entry of a profile into a journey. due_at is the timer; held_due_at keeps it while the journey is paused.
CREATE TABLE journey_instances (
    id               INTEGER PRIMARY KEY,
    workspace_id     INTEGER NOT NULL,
    journey_key      INTEGER NOT NULL,
    version          INTEGER NOT NULL,
    profile_id       INTEGER NOT NULL,
    routing_hash     INTEGER NOT NULL,
    status           INTEGER NOT NULL,
    step_id          TEXT    NOT NULL,
    entered_at       INTEGER NOT NULL,
    step_entered_at  INTEGER NOT NULL,
    seq              INTEGER NOT NULL,
    due_at           INTEGER,
    held_due_at      INTEGER,
    wait_event       TEXT,
    entry_key        TEXT    NOT NULL,
    context          TEXT    NOT NULL,
    end_reason       TEXT,
    ended_at         INTEGER,
    updated_at       INTEGER NOT NULL,
    revision         INTEGER NOT NULL
);
-- The timer scan: due rows in (due, id) order.
CREATE INDEX journey_instances_due ON journey_instances (due_at, id) WHERE due_at IS NOT NULL;
-- A profile's instances (open ones on every batch that touches it; all for the API and re-entry checks).
CREATE INDEX journey_instances_profile ON journey_instances (workspace_id, profile_id, journey_key);
-- One entry per cause.
CREATE UNIQUE INDEX journey_instances_entry ON journey_instances (journey_key, profile_id, entry_key);
-- Waiting counts and walks over a journey's open instances; partial, so a walk that ends drops its entry and a step change inside a walk does not touch it.
CREATE INDEX journey_instances_open ON journey_instances (journey_key, status, id) WHERE status IN (0, 1);

-- Instance ids are reserved in blocks, like profile ids.
CREATE TABLE journey_instance_ids (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    next  INTEGER NOT NULL
);
INSERT INTO journey_instance_ids (id, next) VALUES (1, 1);

CREATE TABLE send_requests (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id     INTEGER NOT NULL,
    profile_id       INTEGER NOT NULL,
    journey_key      INTEGER NOT NULL,
    version          INTEGER NOT NULL,
    instance_id      INTEGER NOT NULL,
    step_id          TEXT    NOT NULL,
    seq              INTEGER NOT NULL,
    idempotency_key  TEXT    NOT NULL,
    template         TEXT    NOT NULL,
    channels         TEXT    NOT NULL,
    category         TEXT    NOT NULL,
    dedup_key        TEXT,
    context          TEXT    NOT NULL,
    scheduled_for    INTEGER NOT NULL,
    created_at       INTEGER NOT NULL,
    status           TEXT    NOT NULL,
    UNIQUE (instance_id, seq)
);
CREATE INDEX send_requests_profile ON send_requests (workspace_id, profile_id);

CREATE TABLE tasks (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id INTEGER NOT NULL,
    profile_id   INTEGER NOT NULL,
    journey_key  INTEGER NOT NULL,
    instance_id  INTEGER NOT NULL,
    step_id      TEXT    NOT NULL,
    seq          INTEGER NOT NULL,
    title        TEXT    NOT NULL,
    note         TEXT,
    assignee     TEXT    NOT NULL,
    from_queue   INTEGER NOT NULL,
    due_at       INTEGER NOT NULL,
    status       TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    done_at      INTEGER,
    UNIQUE (instance_id, seq)
);
CREATE INDEX tasks_assignee ON tasks (workspace_id, assignee, due_at, id);
CREATE INDEX tasks_due ON tasks (workspace_id, due_at, id);
CREATE INDEX tasks_profile ON tasks (workspace_id, profile_id);

CREATE TABLE webhook_requests (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id     INTEGER NOT NULL,
    profile_id       INTEGER NOT NULL,
    journey_key      INTEGER NOT NULL,
    instance_id      INTEGER NOT NULL,
    step_id          TEXT    NOT NULL,
    seq              INTEGER NOT NULL,
    idempotency_key  TEXT    NOT NULL,
    url              TEXT    NOT NULL,
    method           TEXT    NOT NULL,
    headers          TEXT    NOT NULL,
    body             TEXT    NOT NULL,
    status           TEXT    NOT NULL,
    attempts         INTEGER NOT NULL,
    next_attempt_at  INTEGER,
    last_status      INTEGER,
    last_error       TEXT,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    UNIQUE (instance_id, seq)
);
CREATE INDEX webhook_requests_due ON webhook_requests (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_requests_workspace ON webhook_requests (workspace_id, journey_key, id);
CREATE INDEX webhook_requests_profile ON webhook_requests (workspace_id, profile_id);

CREATE TABLE journey_conversions (
    workspace_id  INTEGER NOT NULL,
    journey_key   INTEGER NOT NULL,
    version       INTEGER NOT NULL,
    instance_id   INTEGER NOT NULL PRIMARY KEY,
    profile_id    INTEGER NOT NULL,
    at            INTEGER NOT NULL,
    last_step     TEXT    NOT NULL,
    variants      TEXT    NOT NULL
);
CREATE INDEX journey_conversions_journey ON journey_conversions (journey_key, instance_id);
CREATE INDEX journey_conversions_profile ON journey_conversions (workspace_id, profile_id);

-- Funnel counters, sharded by writer partition so concurrent writers never wait on one row.
CREATE TABLE journey_stats (
    workspace_id  INTEGER NOT NULL,
    journey_key   INTEGER NOT NULL,
    version       INTEGER NOT NULL,
    step_id       TEXT    NOT NULL,
    kind          TEXT    NOT NULL,
    shard         INTEGER NOT NULL,
    count         INTEGER NOT NULL,
    PRIMARY KEY (journey_key, version, step_id, kind, shard)
) WITHOUT ROWID;

CREATE TABLE journey_triggers (
    workspace_id     INTEGER NOT NULL,
    journey_key      INTEGER NOT NULL,
    idempotency_key  TEXT    NOT NULL,
    body_hash        TEXT    NOT NULL,
    outcome          TEXT    NOT NULL,
    instance_id      INTEGER,
    created_at       INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, journey_key, idempotency_key)
) WITHOUT ROWID;

CREATE TABLE audit_log (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id INTEGER NOT NULL,
    at           INTEGER NOT NULL,
    actor        TEXT    NOT NULL,
    action       TEXT    NOT NULL,
    target_type  TEXT    NOT NULL,
    target_id    TEXT    NOT NULL,
    detail       TEXT
);
CREATE INDEX audit_log_workspace ON audit_log (workspace_id, seq);

CREATE TABLE workspace_settings (
    workspace_id  INTEGER NOT NULL,
    name          TEXT    NOT NULL,
    value         TEXT    NOT NULL,
    PRIMARY KEY (workspace_id, name)
) WITHOUT ROWID;
