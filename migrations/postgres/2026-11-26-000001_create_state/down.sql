-- Reverting the first schema would drop all state; pmx never runs this.
DROP TABLE vmid_reservations;
DROP TABLE locks;
DROP TABLE tasks;
DROP TABLE events;
DROP TABLE snapshots;
DROP TABLE resources;
DROP TABLE runs;
DROP TABLE workspaces;
DROP TABLE store_info;
