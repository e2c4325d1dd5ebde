-- pmx state schema 2 (PostgreSQL): which cluster each resource lives on and why pmx knows it,
-- and the intent journal that makes apply crash-safe.
UPDATE store_info SET value = '2' WHERE key = 'schema_version';

-- cluster: the provider key the resource belongs to (`proxmox`, `proxmox.dc2`); NULL for rows
-- written before schema 2 (they count for every cluster). origin: `managed` (in the
-- configuration), `discovered` (found on the cluster, not managed: `vm.discovered[100]`) or
-- `data` (a data source).
ALTER TABLE resources ADD COLUMN cluster TEXT;
ALTER TABLE resources ADD COLUMN origin TEXT NOT NULL DEFAULT 'managed';
ALTER TABLE snapshots ADD COLUMN cluster TEXT;
ALTER TABLE snapshots ADD COLUMN origin TEXT NOT NULL DEFAULT 'managed';

-- Existing rows: the address says. A managed address is TYPE.NAME[KEY] and a type has no dot,
-- so the name starts right after the first dot.
UPDATE resources SET origin = 'data' WHERE substr(address, 1, 5) = 'data.';
UPDATE resources SET origin = 'discovered'
 WHERE substr(address, 1, 5) <> 'data.'
   AND (substr(address, strpos(address, '.') + 1) = 'discovered'
        OR substr(address, strpos(address, '.') + 1, 11) = 'discovered[');
UPDATE snapshots SET origin = 'data' WHERE substr(address, 1, 5) = 'data.';
UPDATE snapshots SET origin = 'discovered'
 WHERE substr(address, 1, 5) <> 'data.'
   AND (substr(address, strpos(address, '.') + 1) = 'discovered'
        OR substr(address, strpos(address, '.') + 1, 11) = 'discovered[');

-- A vmid names one guest per cluster (qemu and lxc share the space): two addresses of a
-- workspace can never claim the same guest. Rows without a cluster are not constrained.
CREATE UNIQUE INDEX resources_by_cluster_vmid ON resources (workspace_id, cluster, vmid)
    WHERE cluster IS NOT NULL AND vmid IS NOT NULL;

-- The intent journal: a row committed before each Proxmox write, the UPID added once known,
-- closed (done or abandoned) when the change is committed. Open rows after a crash say what
-- was half done. seq orders them (1, 2, … per workspace; times alone tie within a millisecond).
CREATE TABLE intents (
    workspace_id BIGINT NOT NULL,
    id           TEXT NOT NULL,
    seq          BIGINT NOT NULL,
    run_id       BIGINT,
    address      TEXT NOT NULL,
    cluster      TEXT NOT NULL,
    action       TEXT NOT NULL,
    vmid         BIGINT,
    node         TEXT,
    upid         TEXT,
    state        TEXT NOT NULL,
    detail       TEXT,
    reason       TEXT,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, id)
);
CREATE INDEX intents_by_state ON intents (workspace_id, state, seq);
