-- Chuda schema v2 for SQLite: segments, their membership, the membership change history and time-based re-checks.
-- Timestamps are integer unix milliseconds (UTC), as in v1.

-- key: the store-assigned number membership rows use. AUTOINCREMENT so a deleted segment's key is never handed out
-- again (old change rows or consumers' cursors must not be mistaken for a new segment's).
CREATE TABLE segments (
    key                    INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id           INTEGER NOT NULL,
    id                     TEXT    NOT NULL,
    name                   TEXT    NOT NULL,
    description            TEXT,
    rule                   TEXT    NOT NULL,
    version                INTEGER NOT NULL,
    status                 INTEGER NOT NULL,
    created_at             INTEGER NOT NULL,
    updated_at             INTEGER NOT NULL,
    backfill_cursor        INTEGER NOT NULL,
    backfill_done          INTEGER NOT NULL,
    backfill_total         INTEGER NOT NULL,
    backfill_started_at    INTEGER,
    backfill_completed_at  INTEGER,
    UNIQUE (workspace_id, id)
);

-- Current membership: one narrow row per (segment, member), sized for 100 segments x 1 M profiles.
-- The primary key serves member paging and counts of one segment; the profile index (which also carries
-- segment_key and since, so it covers the lookup) serves a profile's memberships on every batch.
CREATE TABLE segment_members (
    workspace_id  INTEGER NOT NULL,
    segment_key   INTEGER NOT NULL,
    profile_id    INTEGER NOT NULL,
    since         INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, segment_key, profile_id)
) WITHOUT ROWID;
CREATE INDEX segment_members_profile ON segment_members (workspace_id, profile_id, segment_key, since);

-- Append-only membership history (segment entered / exited). AUTOINCREMENT: a seq is never handed out twice,
-- even after the newest rows are deleted, so consumers can page with it.
CREATE TABLE segment_changes (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id  INTEGER NOT NULL,
    segment_key   INTEGER NOT NULL,
    profile_id    INTEGER NOT NULL,
    entered       INTEGER NOT NULL,
    at            INTEGER NOT NULL,
    cause         TEXT    NOT NULL,
    detail        TEXT
);
-- Paging one segment's changes by seq (the rowid is implicitly the last column of every index).
CREATE INDEX segment_changes_segment ON segment_changes (workspace_id, segment_key);
-- Paging all changes of a workspace by seq.
CREATE INDEX segment_changes_workspace ON segment_changes (workspace_id);
-- Erasure.
CREATE INDEX segment_changes_profile ON segment_changes (workspace_id, profile_id);
-- History buckets: covers the aggregation (at range, entered).
CREATE INDEX segment_changes_at ON segment_changes (workspace_id, segment_key, at, entered);

-- At most one pending re-check per profile; the index (which carries workspace_id and profile_id) serves the
-- due scan in (due_at, workspace_id, profile_id) order.
CREATE TABLE segment_checks (
    workspace_id  INTEGER NOT NULL,
    profile_id    INTEGER NOT NULL,
    due_at        INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, profile_id)
) WITHOUT ROWID;
CREATE INDEX segment_checks_due ON segment_checks (due_at);
