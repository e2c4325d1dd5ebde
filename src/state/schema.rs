//! Diesel table definitions, matching `migrations/{sqlite,postgres}`. Only types both backends
//! share (BigInt, Text) are used, so one query serves both.

diesel::table! {
    store_info (key) {
        key -> Text,
        value -> Text,
    }
}

diesel::table! {
    workspaces (id) {
        id -> BigInt,
        name -> Text,
        lineage -> Text,
        serial -> BigInt,
        created_at -> BigInt,
    }
}

diesel::table! {
    runs (id) {
        id -> BigInt,
        workspace_id -> BigInt,
        kind -> Text,
        command -> Text,
        user_name -> Text,
        host -> Text,
        pid -> BigInt,
        started_at -> BigInt,
        finished_at -> Nullable<BigInt>,
        outcome -> Text,
        counts -> Nullable<Text>,
    }
}

diesel::table! {
    resources (workspace_id, address) {
        workspace_id -> BigInt,
        address -> Text,
        kind -> Text,
        node -> Nullable<Text>,
        vmid -> Nullable<BigInt>,
        fingerprint -> Nullable<Text>,
        digest -> Nullable<Text>,
        status -> Nullable<Text>,
        serial -> BigInt,
        created_at -> BigInt,
        updated_at -> BigInt,
        cluster -> Nullable<Text>,
        origin -> Text,
    }
}

diesel::table! {
    snapshots (workspace_id, address, serial) {
        workspace_id -> BigInt,
        address -> Text,
        serial -> BigInt,
        change -> Text,
        kind -> Text,
        run_id -> Nullable<BigInt>,
        created_at -> BigInt,
        node -> Nullable<Text>,
        vmid -> Nullable<BigInt>,
        fingerprint -> Nullable<Text>,
        digest -> Nullable<Text>,
        status -> Nullable<Text>,
        attributes -> Nullable<Text>,
        cluster -> Nullable<Text>,
        origin -> Text,
    }
}

diesel::table! {
    events (id) {
        id -> BigInt,
        workspace_id -> BigInt,
        run_id -> Nullable<BigInt>,
        kind -> Text,
        address -> Nullable<Text>,
        serial -> Nullable<BigInt>,
        user_name -> Nullable<Text>,
        host -> Nullable<Text>,
        payload -> Nullable<Text>,
        created_at -> BigInt,
    }
}

diesel::table! {
    tasks (workspace_id, upid) {
        workspace_id -> BigInt,
        upid -> Text,
        run_id -> Nullable<BigInt>,
        node -> Text,
        task_type -> Text,
        address -> Nullable<Text>,
        status -> Text,
        exitstatus -> Nullable<Text>,
        started_at -> BigInt,
        finished_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    locks (workspace_id) {
        workspace_id -> BigInt,
        lock_id -> Text,
        user_name -> Text,
        host -> Text,
        pid -> BigInt,
        command -> Text,
        acquired_at -> BigInt,
    }
}

diesel::table! {
    vmid_reservations (cluster, vmid) {
        cluster -> Text,
        vmid -> BigInt,
        workspace_id -> BigInt,
        address -> Text,
        holder -> Text,
        reserved_at -> BigInt,
        expires_at -> BigInt,
    }
}

diesel::table! {
    intents (workspace_id, id) {
        workspace_id -> BigInt,
        id -> Text,
        seq -> BigInt,
        run_id -> Nullable<BigInt>,
        address -> Text,
        cluster -> Text,
        action -> Text,
        vmid -> Nullable<BigInt>,
        node -> Nullable<Text>,
        upid -> Nullable<Text>,
        state -> Text,
        detail -> Nullable<Text>,
        reason -> Nullable<Text>,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::allow_tables_to_appear_in_same_query!(resources, snapshots, runs, events);
