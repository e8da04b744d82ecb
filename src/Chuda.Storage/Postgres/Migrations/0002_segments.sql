-- Chuda schema v2 for PostgreSQL: segments, their membership, the membership change history and time-based re-checks.
-- Timestamps are timestamptz at millisecond precision (the store truncates), as in v1.

-- key: the store-assigned number membership rows use; an identity never hands a value out twice.
-- id is compared in byte order (COLLATE "C") so listing order is the same as on SQLite.
CREATE TABLE segments (
    key                    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id           bigint      NOT NULL,
    id                     text        COLLATE "C" NOT NULL,
    name                   text        NOT NULL,
    description            text,
    rule                   text        NOT NULL,
    version                integer     NOT NULL,
    status                 integer     NOT NULL,
    created_at             timestamptz NOT NULL,
    updated_at             timestamptz NOT NULL,
    backfill_cursor        bigint      NOT NULL,
    backfill_done          bigint      NOT NULL,
    backfill_total         bigint      NOT NULL,
    backfill_started_at    timestamptz,
    backfill_completed_at  timestamptz,
    UNIQUE (workspace_id, id)
);

-- Current membership: one narrow row per (segment, member), sized for 100 segments x 1 M profiles.
-- The primary key serves member paging and counts of one segment; the profile index serves a profile's
-- memberships on every batch (index-only where the visibility map allows).
CREATE TABLE segment_members (
    workspace_id  bigint      NOT NULL,
    segment_key   bigint      NOT NULL,
    profile_id    bigint      NOT NULL,
    since         timestamptz NOT NULL,
    PRIMARY KEY (workspace_id, segment_key, profile_id)
);
CREATE INDEX segment_members_profile ON segment_members (workspace_id, profile_id) INCLUDE (segment_key, since);

-- Append-only membership history (segment entered / exited); seq comes from the identity in insertion order.
CREATE TABLE segment_changes (
    seq           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id  bigint      NOT NULL,
    segment_key   bigint      NOT NULL,
    profile_id    bigint      NOT NULL,
    entered       boolean     NOT NULL,
    at            timestamptz NOT NULL,
    cause         text        NOT NULL,
    detail        text
);
CREATE INDEX segment_changes_segment ON segment_changes (workspace_id, segment_key, seq);
CREATE INDEX segment_changes_workspace ON segment_changes (workspace_id, seq);
CREATE INDEX segment_changes_profile ON segment_changes (workspace_id, profile_id);
CREATE INDEX segment_changes_at ON segment_changes (workspace_id, segment_key, at) INCLUDE (entered);

-- At most one pending re-check per profile.
CREATE TABLE segment_checks (
    workspace_id  bigint      NOT NULL,
    profile_id    bigint      NOT NULL,
    due_at        timestamptz NOT NULL,
    PRIMARY KEY (workspace_id, profile_id)
);
CREATE INDEX segment_checks_due ON segment_checks (due_at, workspace_id, profile_id);
