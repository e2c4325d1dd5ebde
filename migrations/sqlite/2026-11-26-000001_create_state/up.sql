-- pmx state schema 1 (SQLite). Times are Unix milliseconds; attributes are compact JSON text.

-- Facts about the database itself; `schema_version` lets an older pmx refuse a newer database.
CREATE TABLE store_info (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);
INSERT INTO store_info (key, value) VALUES ('schema_version', '1');

-- One row per workspace; every other table is scoped by workspace_id.
CREATE TABLE workspaces (
    id         INTEGER PRIMARY KEY NOT NULL,
    name       TEXT NOT NULL UNIQUE,
    lineage    TEXT NOT NULL,
    serial     BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);

-- Each plan, apply, import, refresh or hand edit.
CREATE TABLE runs (
    id           INTEGER PRIMARY KEY NOT NULL,
    workspace_id BIGINT NOT NULL,
    kind         TEXT NOT NULL,
    command      TEXT NOT NULL,
    user_name    TEXT NOT NULL,
    host         TEXT NOT NULL,
    pid          BIGINT NOT NULL,
    started_at   BIGINT NOT NULL,
    finished_at  BIGINT,
    outcome      TEXT NOT NULL,
    counts       TEXT
);
CREATE INDEX runs_by_workspace ON runs (workspace_id, id);

-- The current state: identity of each managed resource. Its attributes live in the snapshot
-- (workspace_id, address, serial), so the current version is stored once, not twice.
CREATE TABLE resources (
    workspace_id BIGINT NOT NULL,
    address      TEXT NOT NULL,
    kind         TEXT NOT NULL,
    node         TEXT,
    vmid         BIGINT,
    fingerprint  TEXT,
    digest       TEXT,
    status       TEXT,
    serial       BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, address)
) WITHOUT ROWID;
CREATE INDEX resources_by_kind ON resources (workspace_id, kind);
CREATE INDEX resources_by_vmid ON resources (workspace_id, vmid);

-- Every version of every resource: one row per change.
CREATE TABLE snapshots (
    workspace_id BIGINT NOT NULL,
    address      TEXT NOT NULL,
    serial       BIGINT NOT NULL,
    change       TEXT NOT NULL,
    kind         TEXT NOT NULL,
    run_id       BIGINT,
    created_at   BIGINT NOT NULL,
    node         TEXT,
    vmid         BIGINT,
    fingerprint  TEXT,
    digest       TEXT,
    status       TEXT,
    attributes   TEXT
);
CREATE UNIQUE INDEX snapshots_by_address ON snapshots (workspace_id, address, serial);

-- The audit trail, append-only. user_name/host are NULL when the run names them.
CREATE TABLE events (
    id           INTEGER PRIMARY KEY NOT NULL,
    workspace_id BIGINT NOT NULL,
    run_id       BIGINT,
    kind         TEXT NOT NULL,
    address      TEXT,
    serial       BIGINT,
    user_name    TEXT,
    host         TEXT,
    payload      TEXT,
    created_at   BIGINT NOT NULL
);
CREATE INDEX events_by_time ON events (workspace_id, created_at);
CREATE INDEX events_by_address ON events (workspace_id, address) WHERE address IS NOT NULL;

-- Proxmox tasks pmx ran.
CREATE TABLE tasks (
    workspace_id BIGINT NOT NULL,
    upid         TEXT NOT NULL,
    run_id       BIGINT,
    node         TEXT NOT NULL,
    task_type    TEXT NOT NULL,
    address      TEXT,
    status       TEXT NOT NULL,
    exitstatus   TEXT,
    started_at   BIGINT NOT NULL,
    finished_at  BIGINT,
    PRIMARY KEY (workspace_id, upid)
);

-- Who holds a workspace. On SQLite this row IS the lock; on PostgreSQL an advisory lock is,
-- and the row only names the holder.
CREATE TABLE locks (
    workspace_id BIGINT PRIMARY KEY NOT NULL,
    lock_id      TEXT NOT NULL,
    user_name    TEXT NOT NULL,
    host         TEXT NOT NULL,
    pid          BIGINT NOT NULL,
    command      TEXT NOT NULL,
    acquired_at  BIGINT NOT NULL
);

-- VMIDs handed out but not yet visible on the cluster; the primary key makes two processes
-- that race for one vmid fail instead of both winning.
CREATE TABLE vmid_reservations (
    cluster      TEXT NOT NULL,
    vmid         BIGINT NOT NULL,
    workspace_id BIGINT NOT NULL,
    address      TEXT NOT NULL,
    holder       TEXT NOT NULL,
    reserved_at  BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    PRIMARY KEY (cluster, vmid)
);
