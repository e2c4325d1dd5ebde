-- Back to schema 1: drops the intent journal and the cluster/origin columns.
DROP TABLE intents;
DROP INDEX resources_by_cluster_vmid;
ALTER TABLE snapshots DROP COLUMN origin;
ALTER TABLE snapshots DROP COLUMN cluster;
ALTER TABLE resources DROP COLUMN origin;
ALTER TABLE resources DROP COLUMN cluster;
UPDATE store_info SET value = '1' WHERE key = 'schema_version';
