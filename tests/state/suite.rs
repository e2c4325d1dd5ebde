//! The repository suite: every test here runs on SQLite and on PostgreSQL.

use std::time::Duration;

use pmx::state::*;

use crate::support::{addr, vm_attributes, TestDb};

on_both_backends!(
    repository_crud_writes_snapshots_and_events,
    repositories_are_typed_per_kind,
    per_kind_queries,
    lineage_is_fixed_and_serial_counts_commits,
    workspaces_are_separate,
    batch_commit_is_all_or_nothing,
    batch_commit_rejects_an_address_twice,
    move_renames_with_history,
    move_onto_an_existing_address_is_refused,
    forgetting_an_unknown_address_is_refused,
    runs_record_outcome_and_reconciliation_events,
    event_filters,
    history_is_a_timeline,
    task_repository,
    vmid_reservations_never_collide,
    prune_keeps_current_versions,
    pull_then_push_round_trips,
    push_refuses_other_lineage_and_older_serial,
    lock_excludes_a_second_store,
    force_unlock_only_with_the_right_id,
    newer_schema_is_refused,
    schema_1_database_migrates_with_origins_backfilled,
    cluster_and_origin_round_trip,
    version_1_export_still_loads,
    vmids_are_per_cluster,
    intents_lifecycle,
    open_intents_survive_a_crash,
    prune_and_export_cover_intents,
);

fn vm_change(kind: ChangeType, i: usize) -> Change {
    Change::new(kind, ResourceKind::Vm, addr(&format!("vm.web[{i}]")), vm_attributes(i))
        .node(format!("pve{}", i % 3 + 1))
        .vmid(1000 + i as u32)
        .fingerprint(format!("uuid-{i}"))
        .digest(format!("digest-{i}"))
        .status("running")
}

fn repository_crud_writes_snapshots_and_events(db: &TestDb) {
    let mut store = db.open("default");
    let a = addr("vm.web[0]");
    let data = ResourceData {
        identity: Identity { node: Some("pve1".into()), vmid: Some(100), fingerprint: Some("f-1".into()) },
        digest: Some("d1".into()),
        status: Some("running".into()),
        attributes: serde_json::json!({"name": "web-0", "memory": {"size": 2048}}),
        cluster: Some("proxmox".into()),
        origin: None,
    };
    let created = store.vms().create(&a, data.clone()).unwrap();
    assert_eq!(created.address, a);
    assert_eq!(created.identity.vmid, Some(100));
    assert_eq!(created.attributes["memory"]["size"], 2048);
    assert_eq!(created.serial, 1);

    let found = store.vms().find_by_id(&a).unwrap().expect("found");
    assert_eq!(found, created);

    let mut changed = data.clone();
    changed.attributes["memory"]["size"] = serde_json::json!(4096);
    changed.digest = Some("d2".into());
    let updated = store.vms().update(&a, changed).unwrap();
    assert_eq!(updated.serial, 2);
    assert_eq!(updated.attributes["memory"]["size"], 4096);
    assert_eq!(updated.digest.as_deref(), Some("d2"));
    assert_eq!(updated.created_at, created.created_at);

    store.vms().delete(&a).unwrap();
    assert!(store.vms().find_by_id(&a).unwrap().is_none());
    assert!(store.vms().find_all().unwrap().is_empty());

    let snaps = store.snapshots(&a).unwrap();
    let changes: Vec<_> = snaps.iter().map(|s| (s.serial, s.change)).collect();
    assert_eq!(changes, [(1, ChangeType::Created), (2, ChangeType::Updated), (3, ChangeType::Deleted)]);
    assert_eq!(snaps[0].attributes.as_ref().unwrap()["memory"]["size"], 2048, "old versions keep their attributes");
    assert!(snaps[2].attributes.is_none());

    let events = store.events(&EventFilter { address: Some(a.clone()), ..Default::default() }).unwrap();
    let kinds: Vec<_> = events.iter().map(|e| e.kind).collect();
    assert_eq!(kinds, [EventKind::ResourceCreated, EventKind::ResourceUpdated, EventKind::ResourceDeleted]);
    assert!(events.iter().all(|e| !e.user.is_empty() && !e.host.is_empty()));
    assert_eq!(store.meta().unwrap().serial, 3);
}

fn repositories_are_typed_per_kind(db: &TestDb) {
    let mut store = db.open("default");
    let pool = addr("pool.web");
    store
        .pools()
        .create(&pool, ResourceData { attributes: serde_json::json!({"comment": "web"}), ..Default::default() })
        .unwrap();
    assert!(store.vms().find_by_id(&pool).unwrap().is_none(), "a pool is not a vm");
    assert!(store.vms().find_all().unwrap().is_empty());
    assert_eq!(store.pools().find_all().unwrap().len(), 1);
    let err = store.vms().update(&pool, ResourceData::default()).unwrap_err();
    assert!(err.to_string().contains("is a pool, not a vm"), "{err}");
    let err = store.vms().delete(&addr("vm.nope")).unwrap_err();
    assert!(matches!(err, StateError::NotFound { .. }), "{err}");
    let err = store.pools().create(&pool, ResourceData::default()).unwrap_err();
    assert!(matches!(err, StateError::AlreadyExists { .. }), "{err}");
}

fn per_kind_queries(db: &TestDb) {
    let mut store = db.open("default");
    let mut changes: Vec<Change> = (0..6).map(|i| vm_change(ChangeType::Created, i)).collect();
    changes.push(
        Change::new(ChangeType::Discovered, ResourceKind::Node, addr("data.node.pve1"), serde_json::json!({"cpus": 8}))
            .status("online"),
    );
    changes.push(
        Change::new(ChangeType::Discovered, ResourceKind::Node, addr("data.node.pve2"), serde_json::json!({"cpus": 8}))
            .status("offline"),
    );
    changes.push(
        Change::new(ChangeType::Discovered, ResourceKind::Storage, addr("data.storage.local"), serde_json::json!({}))
            .node("pve1"),
    );
    changes.push(
        Change::new(ChangeType::Imported, ResourceKind::Container, addr("container.db"), serde_json::json!({}))
            .node("pve2")
            .vmid(200),
    );
    store.commit_changes(None, changes).unwrap();

    let on_pve1: Vec<String> =
        store.vms().find_by_node("pve1").unwrap().iter().map(|r| r.address.to_string()).collect();
    assert_eq!(on_pve1, ["vm.web[0]", "vm.web[3]"]);
    assert_eq!(store.vms().find_by_vmid(1004).unwrap().unwrap().address, addr("vm.web[4]"));
    assert!(store.vms().find_by_vmid(200).unwrap().is_none(), "vmid 200 is a container");
    assert_eq!(store.containers().find_by_vmid(200).unwrap().unwrap().address, addr("container.db"));
    assert_eq!(store.vms().find_by_fingerprint("uuid-5").unwrap().unwrap().address, addr("vm.web[5]"));
    let online: Vec<_> =
        store.nodes().find_by_status("online").unwrap().into_iter().map(|n| n.address.to_string()).collect();
    assert_eq!(online, ["data.node.pve1"]);
    assert_eq!(store.storages().find_by_node("pve1").unwrap().len(), 1);
    // list sorts addresses as addresses: [2] before [10]
    let mut more: Vec<Change> = (7..12).map(|i| vm_change(ChangeType::Created, i)).collect();
    more.truncate(5);
    store.commit_changes(None, more).unwrap();
    let listed: Vec<String> =
        store.list(Some(ResourceKind::Vm)).unwrap().iter().map(|r| r.address.to_string()).collect();
    assert_eq!(
        listed.iter().position(|a| a == "vm.web[2]").unwrap() + 1,
        listed.iter().position(|a| a == "vm.web[3]").unwrap()
    );
    assert_eq!(listed.last().unwrap(), "vm.web[11]");
}

fn lineage_is_fixed_and_serial_counts_commits(db: &TestDb) {
    let first = {
        let mut store = db.open("default");
        let meta = store.meta().unwrap();
        assert_eq!(meta.serial, 0);
        assert_eq!(meta.lineage.len(), 36);
        let out = store.commit_changes(None, (0..3).map(|i| vm_change(ChangeType::Created, i)).collect()).unwrap();
        assert_eq!(out.serial, 1, "one bump per commit, not per change");
        assert_eq!(out.counts.created, 3);
        meta
    };
    let mut again = db.open("default");
    let meta = again.meta().unwrap();
    assert_eq!(meta.lineage, first.lineage);
    assert_eq!(meta.serial, 1);
    again.commit_changes(None, vec![vm_change(ChangeType::Updated, 0)]).unwrap();
    assert_eq!(again.meta().unwrap().serial, 2);
    // An empty commit changes nothing.
    assert_eq!(again.commit_changes(None, vec![]).unwrap().serial, 2);
}

fn workspaces_are_separate(db: &TestDb) {
    let mut prod = db.open("prod");
    let mut dev = db.open("dev");
    prod.commit_changes(None, vec![vm_change(ChangeType::Created, 1)]).unwrap();
    assert_eq!(prod.list(None).unwrap().len(), 1);
    assert!(dev.list(None).unwrap().is_empty());
    assert_ne!(prod.meta().unwrap().lineage, dev.meta().unwrap().lineage);
    assert_eq!(dev.meta().unwrap().serial, 0);
    // The same address lives independently in each.
    dev.commit_changes(None, vec![vm_change(ChangeType::Created, 1)]).unwrap();
    dev.commit_changes(None, vec![Change::deleted(ResourceKind::Vm, addr("vm.web[1]"))]).unwrap();
    assert_eq!(prod.list(None).unwrap().len(), 1);
    assert!(dev.events(&EventFilter::default()).unwrap().len() == 2);
    assert_eq!(prod.events(&EventFilter::default()).unwrap().len(), 1);
    let mut names = prod.workspaces().unwrap();
    names.sort();
    assert_eq!(names, ["dev", "prod"]);
}

fn batch_commit_is_all_or_nothing(db: &TestDb) {
    let mut store = db.open("default");
    store.commit_changes(None, vec![vm_change(ChangeType::Created, 0)]).unwrap();
    let before_events = store.events(&EventFilter::default()).unwrap().len();
    // 500 good creates, then an update of something that does not exist.
    let mut batch: Vec<Change> = (1..=500).map(|i| vm_change(ChangeType::Created, i)).collect();
    batch.push(vm_change(ChangeType::Updated, 9999));
    let err = store.commit_changes(None, batch).unwrap_err();
    assert!(matches!(err, StateError::NotFound { .. }), "{err}");
    assert_eq!(store.list(None).unwrap().len(), 1, "no resource of the failed batch was written");
    assert_eq!(store.meta().unwrap().serial, 1, "the serial did not move");
    assert_eq!(store.events(&EventFilter::default()).unwrap().len(), before_events);
    assert!(store.snapshots(&addr("vm.web[1]")).unwrap().is_empty());
}

fn batch_commit_rejects_an_address_twice(db: &TestDb) {
    let mut store = db.open("default");
    let err = store
        .commit_changes(None, vec![vm_change(ChangeType::Created, 1), vm_change(ChangeType::Discovered, 1)])
        .unwrap_err();
    assert!(err.to_string().contains("appears twice"), "{err}");
    assert!(store.list(None).unwrap().is_empty());
}

fn move_renames_with_history(db: &TestDb) {
    let mut store = db.open("default");
    store.commit_changes(None, vec![vm_change(ChangeType::Created, 0)]).unwrap();
    let (from, to) = (addr("vm.web[0]"), addr("vm.frontend[\"a\"]"));
    store.move_resource(None, &from, &to).unwrap();
    assert!(store.get(&from).unwrap().is_none());
    let moved = store.get(&to).unwrap().unwrap();
    assert_eq!(moved.identity.vmid, Some(1000));
    assert_eq!(moved.attributes["name"], "web-0");
    assert_eq!(store.snapshots(&from).unwrap().last().unwrap().change, ChangeType::Moved);
    assert_eq!(store.snapshots(&to).unwrap().len(), 1);
    let ev = store.events(&EventFilter { kind: Some(EventKind::StateEditedByHand), ..Default::default() }).unwrap();
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].payload.as_ref().unwrap()["from"], "vm.web[0]");
}

fn move_onto_an_existing_address_is_refused(db: &TestDb) {
    let mut store = db.open("default");
    store.commit_changes(None, vec![vm_change(ChangeType::Created, 0), vm_change(ChangeType::Created, 1)]).unwrap();
    let err = store.move_resource(None, &addr("vm.web[0]"), &addr("vm.web[1]")).unwrap_err();
    assert!(matches!(err, StateError::AlreadyExists { .. }), "{err}");
    assert_eq!(store.meta().unwrap().serial, 1);
    assert_eq!(store.get(&addr("vm.web[0]")).unwrap().unwrap().attributes["name"], "web-0");
    let err = store.move_resource(None, &addr("vm.nope"), &addr("vm.web[7]")).unwrap_err();
    assert!(matches!(err, StateError::NotFound { .. }), "{err}");
}

fn forgetting_an_unknown_address_is_refused(db: &TestDb) {
    let mut store = db.open("default");
    store.commit_changes(None, vec![vm_change(ChangeType::Created, 0)]).unwrap();
    let err = store.require(&addr("vm.wbe[0]")).unwrap_err();
    let report = format!("{:?}", miette::Report::new(err));
    assert!(report.contains("did you mean \"vm.web[0]\"?"), "{report}");
    let err = store
        .commit_changes(
            None,
            vec![Change::new(ChangeType::Forgotten, ResourceKind::Vm, addr("vm.x"), serde_json::Value::Null)],
        )
        .unwrap_err();
    assert!(matches!(err, StateError::NotFound { .. }), "{err}");
    store
        .commit_changes(
            None,
            vec![Change::new(ChangeType::Forgotten, ResourceKind::Vm, addr("vm.web[0]"), serde_json::Value::Null)],
        )
        .unwrap();
    assert!(store.list(None).unwrap().is_empty());
}

fn runs_record_outcome_and_reconciliation_events(db: &TestDb) {
    let mut store = db.open("default");
    let run = store.begin_run(RunKind::Apply, "pmx apply plan.out").unwrap();
    store.commit_changes(Some(run), (0..3).map(|i| vm_change(ChangeType::Created, i)).collect()).unwrap();
    store.finish_run(run, RunOutcome::Failed, Some(serde_json::json!({"created": 3, "failed": 1}))).unwrap();
    let r = store.run(run).unwrap();
    assert_eq!(r.outcome, RunOutcome::Failed);
    assert!(r.finished_at.unwrap() >= r.started_at);
    assert_eq!(r.counts.unwrap()["created"], 3);
    let events = store.events(&EventFilter { run_id: Some(run), ..Default::default() }).unwrap();
    let kinds: Vec<_> = events.iter().map(|e| e.kind).collect();
    assert_eq!(kinds.first(), Some(&EventKind::ReconciliationStarted));
    assert!(kinds.contains(&EventKind::ReconciliationCompleted));
    assert_eq!(kinds.last(), Some(&EventKind::ApplyFailed));
    assert_eq!(kinds.iter().filter(|k| **k == EventKind::ResourceCreated).count(), 3);
    let actor = store.actor().clone();
    assert!(events.iter().all(|e| e.user == actor.user && e.host == actor.host), "user and host come from the run");
    let plan = store.begin_run(RunKind::Plan, "pmx plan").unwrap();
    store.record_event(Some(plan), EventKind::PlanSaved, None, Some(serde_json::json!({"file": "plan.out"}))).unwrap();
    store.finish_run(plan, RunOutcome::Succeeded, None).unwrap();
    assert_eq!(store.runs(10).unwrap().len(), 2);
}

fn event_filters(db: &TestDb) {
    let mut store = db.open("default");
    store.commit_changes(None, (0..4).map(|i| vm_change(ChangeType::Created, i)).collect()).unwrap();
    store.commit_changes(None, vec![vm_change(ChangeType::Updated, 2)]).unwrap();
    let future = now_millis() + 60_000;
    assert!(store.events(&EventFilter { since: Some(future), ..Default::default() }).unwrap().is_empty());
    let past = now_millis() - 60_000;
    assert_eq!(store.events(&EventFilter { since: Some(past), ..Default::default() }).unwrap().len(), 5);
    let updates = store.events(&EventFilter { kind: Some(EventKind::ResourceUpdated), ..Default::default() }).unwrap();
    assert_eq!(updates.len(), 1);
    assert_eq!(updates[0].address, Some(addr("vm.web[2]")));
    let last_two = store.events(&EventFilter { limit: Some(2), ..Default::default() }).unwrap();
    assert_eq!(last_two.len(), 2);
    assert_eq!(last_two[1].kind, EventKind::ResourceUpdated, "newest last");
}

fn history_is_a_timeline(db: &TestDb) {
    let mut store = db.open("default");
    store.lock("test", Duration::ZERO).unwrap();
    store.commit_changes(None, vec![vm_change(ChangeType::Created, 0)]).unwrap();
    store
        .commit_changes(
            None,
            vec![vm_change(ChangeType::Updated, 0).payload(serde_json::json!({"changed": ["memory"]}))],
        )
        .unwrap();
    store.unlock().unwrap();
    let a = addr("vm.web[0]");
    let one = store.history(Some(&a), None).unwrap();
    let whats: Vec<_> = one.iter().map(|e| (e.entry, e.what.as_str())).collect();
    assert_eq!(whats, [("snapshot", "created"), ("snapshot", "updated")], "change events fold into their snapshot");
    assert_eq!(one[1].payload.as_ref().unwrap()["changed"][0], "memory");
    assert!(!one[0].user.is_empty());
    let all = store.history(None, None).unwrap();
    let whats: Vec<_> = all.iter().map(|e| e.what.as_str()).collect();
    assert_eq!(whats, ["LockAcquired", "created", "updated", "LockReleased"]);
    assert_eq!(store.history(None, Some(1)).unwrap().len(), 1);
}

fn task_repository(db: &TestDb) {
    let mut store = db.open("default");
    let upid = "UPID:pve1:0000ABCD:00001234:6745A1B2:qmcreate:100:root@pam!pmx:";
    let task = TaskRecord {
        upid: upid.into(),
        run_id: None,
        node: "pve1".into(),
        task_type: "qmcreate".into(),
        address: Some(addr("vm.web[0]")),
        status: "running".into(),
        exitstatus: None,
        started_at: now_millis(),
        finished_at: None,
    };
    store.tasks().create(&task).unwrap();
    assert!(store.tasks().create(&task).is_err(), "a UPID is recorded once");
    assert_eq!(store.tasks().find_running().unwrap().len(), 1);
    store.tasks().update(upid, "stopped", Some("WARNINGS: 1"), Some(now_millis())).unwrap();
    let got = store.tasks().find_by_id(upid).unwrap().unwrap();
    assert_eq!(got.exitstatus.as_deref(), Some("WARNINGS: 1"));
    assert!(store.tasks().find_running().unwrap().is_empty());
    assert!(store.tasks().update("UPID:nope", "stopped", None, None).is_err());
    store.tasks().delete(upid).unwrap();
    assert!(store.tasks().find_all().unwrap().is_empty());
}

fn vmid_reservations_never_collide(db: &TestDb) {
    let cluster = "https://pve1:8006";
    // Two processes' worth of stores, racing from threads over the same candidate range.
    let handles: Vec<_> = (0..2)
        .map(|t| {
            let location = db.location.clone();
            std::thread::spawn(move || {
                let mut store = Store::open(&location, "default").unwrap();
                (0..25)
                    .map(|i| {
                        let a = addr(&format!("vm.t{t}[{i}]"));
                        store.reserve_vmid(cluster, &a, 100..1000, Duration::from_secs(60)).unwrap()
                    })
                    .collect::<Vec<u32>>()
            })
        })
        .collect();
    let mut all: Vec<u32> = handles.into_iter().flat_map(|h| h.join().unwrap()).collect();
    all.sort_unstable();
    let n = all.len();
    all.dedup();
    assert_eq!(all.len(), n, "no vmid handed out twice");
    assert_eq!(all, (100..150).collect::<Vec<_>>());

    let mut store = db.open("default");
    assert_eq!(store.vmid_reservations(cluster).unwrap().len(), 50);
    assert!(store.release_vmid(cluster, 100).unwrap());
    assert_eq!(store.reserve_vmid(cluster, &addr("vm.x"), 100..1000, Duration::from_secs(60)).unwrap(), 100);
    // Another cluster has its own vmid space; expired reservations free their vmid.
    assert_eq!(store.reserve_vmid("other", &addr("vm.x"), 100..1000, Duration::ZERO).unwrap(), 100);
    std::thread::sleep(Duration::from_millis(5));
    assert_eq!(store.reserve_vmid("other", &addr("vm.y"), 100..1000, Duration::from_secs(60)).unwrap(), 100);
    // Vmids that state already uses are skipped.
    store.commit_changes(None, vec![vm_change(ChangeType::Created, 0)]).unwrap();
    assert_eq!(store.reserve_vmid("c3", &addr("vm.z"), 1000..1002, Duration::from_secs(60)).unwrap(), 1001);
    let err = store.reserve_vmid("c3", &addr("vm.z2"), 1000..1002, Duration::from_secs(60)).unwrap_err();
    assert!(matches!(err, StateError::NoFreeVmid { .. }), "{err}");
}

fn prune_keeps_current_versions(db: &TestDb) {
    let mut store = db.open("default");
    store.commit_changes(None, vec![vm_change(ChangeType::Created, 0), vm_change(ChangeType::Created, 1)]).unwrap();
    for _ in 0..4 {
        store.commit_changes(None, vec![vm_change(ChangeType::Updated, 0)]).unwrap();
    }
    store.commit_changes(None, vec![Change::deleted(ResourceKind::Vm, addr("vm.web[1]"))]).unwrap();
    assert_eq!(store.snapshots(&addr("vm.web[0]")).unwrap().len(), 5);

    let dry = store.prune(RetentionPolicy { keep_last: Some(2), max_age: None }, true).unwrap();
    assert_eq!((dry.examined, dry.deleted), (7, 3));
    assert_eq!(store.snapshots(&addr("vm.web[0]")).unwrap().len(), 5, "a dry run deletes nothing");

    let report = store.prune(RetentionPolicy { keep_last: Some(2), max_age: None }, false).unwrap();
    assert_eq!(report.deleted, 3);
    let serials: Vec<i64> = store.snapshots(&addr("vm.web[0]")).unwrap().iter().map(|s| s.serial).collect();
    assert_eq!(serials, [4, 5]);
    // max age 0: everything but current versions goes, including a deleted resource's trail.
    store.prune(RetentionPolicy { keep_last: None, max_age: Some(Duration::ZERO) }, false).unwrap();
    assert_eq!(store.snapshots(&addr("vm.web[0]")).unwrap().len(), 1);
    assert!(store.snapshots(&addr("vm.web[1]")).unwrap().is_empty());
    assert_eq!(store.get(&addr("vm.web[0]")).unwrap().unwrap().serial, 5, "the current version survives");
    assert!(store.prune(RetentionPolicy::default(), false).is_err());
    assert!(store.prune(RetentionPolicy { keep_last: Some(0), max_age: None }, false).is_err());
    assert_eq!(
        store.events(&EventFilter { kind: Some(EventKind::SnapshotsPruned), ..Default::default() }).unwrap().len(),
        2
    );
}

fn pull_then_push_round_trips(db: &TestDb) {
    let mut source = db.open("source");
    let run = source.begin_run(RunKind::Apply, "pmx apply").unwrap();
    source.commit_changes(Some(run), (0..5).map(|i| vm_change(ChangeType::Created, i)).collect()).unwrap();
    source.commit_changes(Some(run), vec![vm_change(ChangeType::Updated, 3)]).unwrap();
    source.finish_run(run, RunOutcome::Succeeded, None).unwrap();
    let export = source.pull().unwrap();
    let text = serde_json::to_string(&export).unwrap();
    let parsed = StateExport::from_json(&text, "test").unwrap();
    assert_eq!(parsed, export);

    let mut target = db.open("target");
    let report = target.push(&parsed, false).unwrap();
    assert!(report.history_copied);
    assert_eq!(report.resources, 5);
    let (a, b) = (source.meta().unwrap(), target.meta().unwrap());
    assert_eq!(a.lineage, b.lineage);
    assert_eq!(a.serial, b.serial);
    assert_eq!(source.find_all(None).unwrap(), target.find_all(None).unwrap());
    assert_eq!(target.snapshots(&addr("vm.web[3]")).unwrap().len(), 2);
    let copied = target.events(&EventFilter::default()).unwrap();
    assert!(copied.iter().any(|e| e.kind == EventKind::ReconciliationStarted));
    assert_eq!(copied.last().unwrap().kind, EventKind::StateEditedByHand);
    assert_eq!(target.runs(10).unwrap()[0].command, "pmx apply");
}

fn push_refuses_other_lineage_and_older_serial(db: &TestDb) {
    let mut a = db.open("a");
    a.commit_changes(None, vec![vm_change(ChangeType::Created, 0)]).unwrap();
    let old = a.pull().unwrap();
    a.commit_changes(None, vec![vm_change(ChangeType::Updated, 0)]).unwrap();
    let err = a.push(&old, false).unwrap_err();
    assert!(err.to_string().contains("not newer"), "{err}");

    let mut other = db.open("other");
    other.commit_changes(None, vec![vm_change(ChangeType::Created, 7)]).unwrap();
    let foreign = other.pull().unwrap();
    let err = a.push(&foreign, false).unwrap_err();
    assert!(err.to_string().contains("lineage"), "{err}");
    assert!(a.get(&addr("vm.web[0]")).unwrap().is_some(), "refused push changed nothing");

    let serial_before = a.meta().unwrap().serial;
    let report = a.push(&foreign, true).unwrap();
    assert!(!report.history_copied);
    assert!(report.serial > serial_before, "a forced push still moves the serial forward");
    assert!(a.get(&addr("vm.web[0]")).unwrap().is_none());
    assert!(a.get(&addr("vm.web[7]")).unwrap().is_some());

    let bad = StateExport::from_json(r#"{"format":"something-else"}"#, "bad.json").unwrap_err();
    assert!(bad.to_string().contains("bad.json"), "{bad}");
}

fn lock_excludes_a_second_store(db: &TestDb) {
    let mut first = db.open("default");
    let mut second = db.open("default");
    let held = first.lock("pmx apply plan.out", Duration::ZERO).unwrap();
    let started = std::time::Instant::now();
    let err = second.lock("pmx state rm vm.a", Duration::from_millis(300)).unwrap_err();
    assert!(started.elapsed() >= Duration::from_millis(300), "it waited for the timeout");
    let msg = err.to_string();
    assert!(msg.contains("pmx apply plan.out") && msg.contains(&held.id) && msg.contains(&held.user), "{msg}");
    assert_eq!(second.lock_holder().unwrap().unwrap().id, held.id);
    // Another workspace is not affected.
    db.open("other").lock("x", Duration::ZERO).unwrap();
    drop(first); // releases
    let got = second.lock("pmx state rm vm.a", Duration::from_secs(5)).unwrap();
    assert_ne!(got.id, held.id);
    second.unlock().unwrap();
    assert!(second.lock_holder().unwrap().is_none());
}

fn force_unlock_only_with_the_right_id(db: &TestDb) {
    let mut holder = db.open("default");
    let info = holder.lock("pmx apply", Duration::ZERO).unwrap();
    let mut other = db.open("default");
    let err = other.force_unlock("not-the-id").unwrap_err();
    assert!(err.to_string().contains(&info.id), "names the lock held now: {err}");
    if db.is_postgres() {
        // A live session's advisory lock cannot be broken from outside.
        let err = other.force_unlock(&info.id).unwrap_err();
        assert!(err.to_string().contains("live PostgreSQL session"), "{err}");
        std::mem::forget(holder.lock_holder()); // keep the holder alive until here
        drop(holder);
        assert!(other.lock("next", Duration::from_secs(5)).is_ok(), "the lock died with its session");
    } else {
        let was = other.force_unlock(&info.id).unwrap();
        assert_eq!(was.id, info.id);
        assert!(other.lock("next", Duration::ZERO).is_ok());
        let broken = other.events(&EventFilter { kind: Some(EventKind::LockBroken), ..Default::default() }).unwrap();
        assert_eq!(broken.len(), 1);
    }
}

fn newer_schema_is_refused(db: &TestDb) {
    {
        let mut store = db.open("default");
        store.commit_changes(None, vec![vm_change(ChangeType::Created, 0)]).unwrap();
        store.debug_execute("UPDATE store_info SET value = '99' WHERE key = 'schema_version'").unwrap();
    }
    let err = Store::open(&db.location, "default").unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, StateError::TooNew { found: 99, .. }), "{msg}");
    assert!(msg.contains("state schema 99") && msg.contains("newer pmx"), "{msg}");
}

/// A connection straight to the test database, past the store (which would migrate it).
fn raw_connection(db: &TestDb) -> AnyConnection {
    use diesel::Connection;
    match &db.location {
        StateLocation::Sqlite(path) => {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            AnyConnection::Sqlite(diesel::SqliteConnection::establish(path.to_str().unwrap()).unwrap())
        }
        StateLocation::Postgres(url) => AnyConnection::Postgresql(diesel::PgConnection::establish(url).unwrap()),
    }
}

/// The migrations of this backend as files (not the embedded copy), oldest first.
fn migration_files(db: &TestDb) -> diesel_migrations::FileBasedMigrations {
    let backend = if db.is_postgres() { "postgres" } else { "sqlite" };
    diesel_migrations::FileBasedMigrations::from_path(format!("{}/migrations/{backend}", env!("CARGO_MANIFEST_DIR")))
        .unwrap()
}

/// Applies only the first migration (state schema 1), as a pmx from before schema 2 left it.
fn migrate_to_schema_1(db: &TestDb, conn: &mut AnyConnection) {
    use diesel::migration::MigrationSource;
    use diesel_migrations::MigrationHarness;
    macro_rules! first {
        ($c:expr, $db:ty) => {{
            let mut all = MigrationSource::<$db>::migrations(&migration_files(db)).unwrap();
            all.sort_by_key(|m| m.name().version().as_owned());
            $c.applied_migrations().unwrap(); // creates diesel's bookkeeping table
            $c.run_migration(&*all[0]).unwrap();
            assert_eq!($c.applied_migrations().unwrap().len(), 1);
        }};
    }
    match conn {
        AnyConnection::Sqlite(c) => first!(c, diesel::sqlite::Sqlite),
        AnyConnection::Postgresql(c) => first!(c, diesel::pg::Pg),
    }
}

fn stored_schema_version(conn: &mut AnyConnection) -> String {
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct V {
        #[diesel(sql_type = diesel::sql_types::Text)]
        value: String,
    }
    let sql = "SELECT value FROM store_info WHERE key = 'schema_version'";
    let v: V = match conn {
        AnyConnection::Sqlite(c) => diesel::sql_query(sql).get_result(c).unwrap(),
        AnyConnection::Postgresql(c) => diesel::sql_query(sql).get_result(c).unwrap(),
    };
    v.value
}

fn schema_1_database_migrates_with_origins_backfilled(db: &TestDb) {
    use diesel::connection::SimpleConnection;
    // (address, origin migration 2 must give it)
    let rows = [
        ("vm.web[0]", "managed"),
        ("vm.discovered[100]", "discovered"),
        ("container.discovered[\"ct-7\"]", "discovered"),
        ("vm.discovered", "discovered"),
        ("data.node.pve1", "data"),
        ("data.vm.discovered[3]", "data"),
        ("vm.discoveredx[1]", "managed"),
        ("vm.web[\"discovered[1]\"]", "managed"),
        ("vm.rediscovered", "managed"),
    ];
    {
        let mut conn = raw_connection(db);
        migrate_to_schema_1(db, &mut conn);
        assert_eq!(stored_schema_version(&mut conn), "1");
        let mut sql = String::from(
            "INSERT INTO workspaces (name, lineage, serial, created_at) VALUES ('default', 'lin-1', 2, 1000);\n",
        );
        for (i, (address, _)) in rows.iter().enumerate() {
            let a = address.replace('\'', "''");
            let kind = if address.starts_with("container") { "container" } else { "vm" };
            let vmid = 500 + i;
            sql.push_str(&format!(
                "INSERT INTO resources (workspace_id, address, kind, node, vmid, serial, created_at, updated_at) \
                 SELECT id, '{a}', '{kind}', 'pve1', {vmid}, 2, 1000, 2000 FROM workspaces WHERE name = 'default';\n\
                 INSERT INTO snapshots (workspace_id, address, serial, change, kind, created_at, node, vmid, attributes) \
                 SELECT id, '{a}', 1, 'created', '{kind}', 1000, 'pve1', {vmid}, '{{\"n\":1}}' FROM workspaces WHERE name = 'default';\n\
                 INSERT INTO snapshots (workspace_id, address, serial, change, kind, created_at, node, vmid, attributes) \
                 SELECT id, '{a}', 2, 'updated', '{kind}', 2000, 'pve1', {vmid}, '{{\"n\":2}}' FROM workspaces WHERE name = 'default';\n"
            ));
        }
        conn.batch_execute(&sql).unwrap();
    }

    let mut store = db.open("default");
    let (version, applied) = store.schema_info().unwrap();
    assert_eq!(version, 2);
    assert_eq!(applied.len(), 2, "{applied:?}");
    let meta = store.meta().unwrap();
    assert_eq!((meta.lineage.as_str(), meta.serial), ("lin-1", 2), "the workspace is the same one");
    let all = store.find_all(None).unwrap();
    assert_eq!(all.len(), rows.len());
    for (address, origin) in rows {
        let r = store.get(&addr(address)).unwrap().unwrap_or_else(|| panic!("{address} kept"));
        assert_eq!(r.origin.as_str(), origin, "{address}");
        assert_eq!(r.cluster, None, "{address}: the cluster of an old row is unknown");
        assert_eq!(r.attributes["n"], 2, "{address}: attributes kept");
        let snaps = store.snapshots(&addr(address)).unwrap();
        assert_eq!(snaps.len(), 2, "{address}: history kept");
        assert!(snaps.iter().all(|s| s.origin.as_str() == origin), "{address}: {snaps:?}");
    }
    // Rows without a cluster count for every cluster.
    let legacy_vmid = 500;
    assert_eq!(
        store.find_by_vmid_in_cluster("proxmox.dc2", ResourceKind::Vm, legacy_vmid).unwrap().unwrap().address,
        addr("vm.web[0]")
    );
    let got = store.reserve_vmid("proxmox", &addr("vm.new"), 500..600, Duration::from_secs(60)).unwrap();
    assert_eq!(got, 509, "vmids 500..=508 of schema-1 rows are taken on every cluster");
    drop(store);

    // down.sql takes it back to schema 1, and opening migrates it again.
    {
        use diesel_migrations::MigrationHarness;
        let mut conn = raw_connection(db);
        match &mut conn {
            AnyConnection::Sqlite(c) => c.revert_last_migration(migration_files(db)).map(|_| ()).unwrap(),
            AnyConnection::Postgresql(c) => c.revert_last_migration(migration_files(db)).map(|_| ()).unwrap(),
        }
        assert_eq!(stored_schema_version(&mut conn), "1");
        assert!(conn.batch_execute("SELECT origin FROM resources").is_err(), "the column is gone");
        assert!(conn.batch_execute("SELECT id FROM intents").is_err(), "the table is gone");
    }
    let mut store = db.open("default");
    assert_eq!(store.schema_info().unwrap().0, 2);
    assert_eq!(store.get(&addr("vm.discovered[100]")).unwrap().unwrap().origin, Origin::Discovered);
}

fn cluster_and_origin_round_trip(db: &TestDb) {
    // Change::new takes the origin from the address.
    let defaults: Vec<(Change, Origin)> = vec![
        (Change::new(ChangeType::Created, ResourceKind::Vm, addr("vm.web[0]"), serde_json::json!({})), Origin::Managed),
        (
            Change::new(ChangeType::Discovered, ResourceKind::Vm, addr("vm.discovered[100]"), serde_json::json!({})),
            Origin::Discovered,
        ),
        (
            Change::new(ChangeType::Discovered, ResourceKind::Node, addr("data.node.pve1"), serde_json::json!({})),
            Origin::Data,
        ),
    ];
    for (ch, origin) in &defaults {
        assert_eq!(ch.origin, *origin, "{}", ch.address);
        assert_eq!(ch.cluster, None);
    }
    assert_eq!("discovered".parse::<Origin>().unwrap(), Origin::Discovered);
    assert!("adopted".parse::<Origin>().is_err());
    assert_eq!(Origin::default(), Origin::Managed);
    assert_eq!(serde_json::to_value(Origin::Data).unwrap(), "data");

    let mut store = db.open("default");
    let run = store.begin_run(RunKind::Apply, "pmx apply").unwrap();
    store
        .commit_changes(
            Some(run),
            vec![
                vm_change(ChangeType::Created, 0).cluster("proxmox"),
                Change::new(
                    ChangeType::Discovered,
                    ResourceKind::Vm,
                    addr("vm.discovered[100]"),
                    serde_json::json!({}),
                )
                .cluster("proxmox.dc2")
                .vmid(100),
                Change::new(ChangeType::Discovered, ResourceKind::Node, addr("data.node.pve1"), serde_json::json!({}))
                    .cluster("proxmox"),
                // An explicit origin wins over the address.
                Change::new(ChangeType::Imported, ResourceKind::Vm, addr("vm.legacy"), serde_json::json!({}))
                    .origin(Origin::Discovered),
            ],
        )
        .unwrap();
    let got: Vec<(String, Option<String>, Origin)> =
        store.find_all(None).unwrap().into_iter().map(|r| (r.address.to_string(), r.cluster, r.origin)).collect();
    let want = [
        ("vm.discovered[100]", Some("proxmox.dc2"), Origin::Discovered),
        ("vm.legacy", None, Origin::Discovered),
        ("vm.web[0]", Some("proxmox"), Origin::Managed),
        ("data.node.pve1", Some("proxmox"), Origin::Data),
    ];
    let want: Vec<(String, Option<String>, Origin)> =
        want.iter().map(|(a, c, o)| (a.to_string(), c.map(str::to_string), *o)).collect();
    assert_eq!(got, want);
    let listed: Vec<(String, Option<String>, Origin)> =
        store.list(None).unwrap().into_iter().map(|r| (r.address.to_string(), r.cluster, r.origin)).collect();
    assert_eq!(listed, want, "list shows them too");

    // An update writes the new cluster and origin; history keeps each version's.
    store
        .commit_changes(None, vec![vm_change(ChangeType::Updated, 0).cluster("proxmox.dc2").origin(Origin::Discovered)])
        .unwrap();
    let r = store.get(&addr("vm.web[0]")).unwrap().unwrap();
    assert_eq!((r.cluster.as_deref(), r.origin), (Some("proxmox.dc2"), Origin::Discovered));
    let snaps: Vec<(Option<String>, Origin)> =
        store.snapshots(&addr("vm.web[0]")).unwrap().into_iter().map(|s| (s.cluster, s.origin)).collect();
    assert_eq!(
        snaps,
        [(Some("proxmox".to_string()), Origin::Managed), (Some("proxmox.dc2".to_string()), Origin::Discovered)]
    );
    let first = store.snapshot_at(&addr("vm.web[0]"), 1).unwrap().unwrap();
    assert_eq!(first.cluster.as_deref(), Some("proxmox"));

    // A move keeps the cluster; an origin the old address implied follows the new address.
    store.move_resource(None, &addr("vm.discovered[100]"), &addr("vm.adopted")).unwrap();
    let moved = store.get(&addr("vm.adopted")).unwrap().unwrap();
    assert_eq!((moved.cluster.as_deref(), moved.origin), (Some("proxmox.dc2"), Origin::Managed));
    store.move_resource(None, &addr("vm.legacy"), &addr("vm.legacy2")).unwrap();
    assert_eq!(store.get(&addr("vm.legacy2")).unwrap().unwrap().origin, Origin::Discovered, "explicit origin stays");

    // Repositories write them too.
    let data = ResourceData { cluster: Some("proxmox".into()), origin: Some(Origin::Discovered), ..Default::default() };
    let pool = store.pools().create(&addr("pool.found"), data).unwrap();
    assert_eq!((pool.cluster.as_deref(), pool.origin), (Some("proxmox"), Origin::Discovered));

    // Pull and push carry them.
    let export = store.pull().unwrap();
    assert_eq!(export.format_version, 2);
    let text = serde_json::to_string(&export).unwrap();
    let mut target = db.open("copy");
    target.push(&StateExport::from_json(&text, "test").unwrap(), false).unwrap();
    assert_eq!(target.find_all(None).unwrap(), store.find_all(None).unwrap());
    let versions = |s: &mut Store| -> Vec<(i64, Option<String>, Origin)> {
        s.snapshots(&addr("vm.web[0]")).unwrap().into_iter().map(|v| (v.serial, v.cluster, v.origin)).collect()
    };
    assert_eq!(versions(&mut target), versions(&mut store));
}

fn version_1_export_still_loads(db: &TestDb) {
    let mut source = db.open("source");
    source
        .commit_changes(
            None,
            vec![
                vm_change(ChangeType::Created, 0),
                Change::new(ChangeType::Discovered, ResourceKind::Vm, addr("vm.discovered[7]"), serde_json::json!({}))
                    .vmid(7),
                Change::new(ChangeType::Discovered, ResourceKind::Node, addr("data.node.pve1"), serde_json::json!({})),
            ],
        )
        .unwrap();
    // What a pmx of format 1 wrote: no cluster, no origin, no intents.
    let mut v = serde_json::to_value(source.pull().unwrap()).unwrap();
    v["format_version"] = 1.into();
    v["schema_version"] = 1.into();
    v.as_object_mut().unwrap().remove("intents");
    for list in ["resources", "snapshots"] {
        for item in v[list].as_array_mut().unwrap() {
            let item = item.as_object_mut().unwrap();
            assert!(item.remove("origin").is_some(), "format 2 writes the origin");
            item.remove("cluster");
        }
    }
    let old = StateExport::from_json(&v.to_string(), "old.json").unwrap();
    let origins: Vec<(String, Origin)> = old.resources.iter().map(|r| (r.address.to_string(), r.origin)).collect();
    assert_eq!(
        origins,
        [
            ("vm.discovered[7]".to_string(), Origin::Discovered),
            ("vm.web[0]".to_string(), Origin::Managed),
            ("data.node.pve1".to_string(), Origin::Data),
        ]
    );
    let mut target = db.open("target");
    target.push(&old, false).unwrap();
    assert_eq!(target.get(&addr("vm.discovered[7]")).unwrap().unwrap().origin, Origin::Discovered);
    assert_eq!(target.snapshots(&addr("data.node.pve1")).unwrap()[0].origin, Origin::Data);
    // A format this pmx does not know yet is refused.
    v["format_version"] = 3.into();
    assert!(StateExport::from_json(&v.to_string(), "new.json").is_err());
}

fn vmids_are_per_cluster(db: &TestDb) {
    let mut store = db.open("default");
    let guest = |a: &str, kind: ResourceKind, cluster: &str, vmid: u32| {
        Change::new(ChangeType::Created, kind, addr(a), serde_json::json!({})).cluster(cluster).vmid(vmid)
    };
    store
        .commit_changes(
            None,
            vec![
                guest("vm.a", ResourceKind::Vm, "proxmox", 100),
                guest("vm.b", ResourceKind::Vm, "proxmox.dc2", 100),
                guest("container.c", ResourceKind::Container, "proxmox.dc2", 101),
            ],
        )
        .unwrap();
    let find = |s: &mut Store, cluster: &str, kind: ResourceKind, vmid: u32| {
        s.find_by_vmid_in_cluster(cluster, kind, vmid).unwrap().map(|r| r.address.to_string())
    };
    assert_eq!(find(&mut store, "proxmox", ResourceKind::Vm, 100).as_deref(), Some("vm.a"));
    assert_eq!(find(&mut store, "proxmox.dc2", ResourceKind::Vm, 100).as_deref(), Some("vm.b"));
    assert_eq!(find(&mut store, "proxmox.dc3", ResourceKind::Vm, 100), None);
    assert_eq!(find(&mut store, "proxmox.dc2", ResourceKind::Vm, 101), None, "101 is a container");
    assert_eq!(find(&mut store, "proxmox.dc2", ResourceKind::Container, 101).as_deref(), Some("container.c"));
    assert_eq!(store.vms().find_by_vmid_in_cluster("proxmox.dc2", 100).unwrap().unwrap().address, addr("vm.b"));

    // One guest per (cluster, vmid): a second address claiming it is refused, naming the holder,
    // and nothing of the batch is written.
    let serial = store.meta().unwrap().serial;
    let err = store
        .commit_changes(
            None,
            vec![
                guest("vm.ok", ResourceKind::Vm, "proxmox", 200),
                guest("container.x", ResourceKind::Container, "proxmox", 100),
            ],
        )
        .unwrap_err();
    assert!(matches!(err, StateError::InvalidChange(_)), "{err}");
    assert!(err.to_string().contains("vm.a") && err.to_string().contains("vmid 100 on cluster proxmox"), "{err}");
    assert_eq!(store.meta().unwrap().serial, serial);
    assert!(store.get(&addr("vm.ok")).unwrap().is_none());
    let err = store
        .commit_changes(
            None,
            vec![guest("vm.p", ResourceKind::Vm, "proxmox", 300), guest("vm.q", ResourceKind::Vm, "proxmox", 300)],
        )
        .unwrap_err();
    assert!(err.to_string().contains("both claim vmid 300"), "{err}");
    // Handing a guest over in one commit is fine: forget the discovered address, import it.
    store
        .commit_changes(
            None,
            vec![Change::new(
                ChangeType::Discovered,
                ResourceKind::Vm,
                addr("vm.discovered[400]"),
                serde_json::json!({}),
            )
            .cluster("proxmox")
            .vmid(400)],
        )
        .unwrap();
    store
        .commit_changes(
            None,
            vec![
                Change::new(
                    ChangeType::Forgotten,
                    ResourceKind::Vm,
                    addr("vm.discovered[400]"),
                    serde_json::Value::Null,
                ),
                guest("vm.adopted", ResourceKind::Vm, "proxmox", 400),
            ],
        )
        .unwrap();
    assert_eq!(find(&mut store, "proxmox", ResourceKind::Vm, 400).as_deref(), Some("vm.adopted"));
    // An update of the holder itself is not a conflict.
    store
        .commit_changes(
            None,
            vec![guest("vm.a", ResourceKind::Vm, "proxmox", 100)]
                .into_iter()
                .map(|mut c| {
                    c.change = ChangeType::Updated;
                    c
                })
                .collect(),
        )
        .unwrap();

    // Reservations skip only the vmids this workspace uses on that cluster.
    let ttl = Duration::from_secs(60);
    assert_eq!(store.reserve_vmid("proxmox", &addr("vm.n1"), 100..110, ttl).unwrap(), 101);
    assert_eq!(store.reserve_vmid("proxmox.dc2", &addr("vm.n2"), 100..110, ttl).unwrap(), 102);
    assert_eq!(store.reserve_vmid("proxmox.dc3", &addr("vm.n3"), 100..110, ttl).unwrap(), 100);
    // A resource without a cluster (recorded before schema 2) blocks its vmid everywhere.
    store.commit_changes(None, vec![vm_change(ChangeType::Created, 0)]).unwrap(); // vmid 1000, no cluster
    assert_eq!(store.reserve_vmid("proxmox.dc3", &addr("vm.n4"), 1000..1002, ttl).unwrap(), 1001);
    assert_eq!(find(&mut store, "proxmox.dc3", ResourceKind::Vm, 1000).as_deref(), Some("vm.web[0]"));
    // ... but a resource of the cluster asked for comes first.
    store.commit_changes(None, vec![guest("vm.dc3", ResourceKind::Vm, "proxmox.dc3", 1000)]).unwrap();
    assert_eq!(find(&mut store, "proxmox.dc3", ResourceKind::Vm, 1000).as_deref(), Some("vm.dc3"));
}

fn intents_lifecycle(db: &TestDb) {
    let mut store = db.open("default");
    let run = store.begin_run(RunKind::Apply, "pmx apply").unwrap();
    let web = addr("vm.web[0]");
    let detail = serde_json::json!({"template": 9000, "full": true});
    let id =
        store.begin_intent(Some(run), &web, "proxmox.dc2", "clone", Some(105), Some("pve2"), detail.clone()).unwrap();
    assert_eq!(id.len(), 36, "a uuid: {id}");
    let open = store.open_intents().unwrap();
    assert_eq!(open.len(), 1);
    let i = &open[0];
    assert_eq!((i.id.as_str(), i.state, i.run_id), (id.as_str(), IntentState::Pending, Some(run)));
    assert_eq!((&i.address, i.cluster.as_str(), i.action.as_str()), (&web, "proxmox.dc2", "clone"));
    assert_eq!((i.vmid, i.node.as_deref(), i.upid.as_deref()), (Some(105), Some("pve2"), None));
    assert_eq!(i.detail, detail);

    let upid = "UPID:pve2:0000A1B2:0001C3D4:6745A0B1:qmclone:9000:root@pam:";
    store.intent_started(&id, upid).unwrap();
    let i = store.intent(&id).unwrap().unwrap();
    assert_eq!((i.state, i.upid.as_deref()), (IntentState::Started, Some(upid)));
    assert!(i.updated_at >= i.created_at);
    assert_eq!(store.open_intents().unwrap().len(), 1, "started is still open");
    // A retried write gets its new UPID.
    store.intent_started(&id, "UPID:pve2:retry").unwrap();
    assert_eq!(store.intent(&id).unwrap().unwrap().upid.as_deref(), Some("UPID:pve2:retry"));

    store.finish_intent(&id).unwrap();
    assert!(store.open_intents().unwrap().is_empty());
    let i = store.intent(&id).unwrap().unwrap();
    assert_eq!((i.state, i.upid.as_deref()), (IntentState::Done, Some("UPID:pve2:retry")), "the UPID stays");
    store.finish_intent(&id).unwrap(); // closing twice is harmless
    let err = store.intent_started(&id, "UPID:late").unwrap_err();
    assert!(err.to_string().contains("is done"), "{err}");
    assert!(store.abandon_intent(&id, "nope").is_err(), "a done intent is not abandoned");

    // Abandoned, with why; open ones come oldest first; other workspaces see none of them.
    let a = store.begin_intent(None, &addr("vm.db"), "proxmox", "create", None, None, serde_json::Value::Null).unwrap();
    let b = store
        .begin_intent(None, &addr("vm.cache"), "proxmox", "delete", Some(300), Some("pve1"), serde_json::json!({}))
        .unwrap();
    let c = store
        .begin_intent(None, &addr("vm.app"), "proxmox", "start", Some(301), Some("pve1"), serde_json::json!({}))
        .unwrap();
    let ids: Vec<String> = store.open_intents().unwrap().into_iter().map(|i| i.id).collect();
    assert_eq!(ids, [a.clone(), b.clone(), c.clone()]);
    store.abandon_intent(&b, "task failed: can't lock file").unwrap();
    let i = store.intent(&b).unwrap().unwrap();
    assert_eq!((i.state, i.reason.as_deref()), (IntentState::Abandoned, Some("task failed: can't lock file")));
    assert!(store.finish_intent(&b).is_err(), "an abandoned intent is not finished");
    assert!(store.open_intents().unwrap().iter().all(|i| i.id != b));
    assert_eq!(store.intent(&a).unwrap().unwrap().detail, serde_json::Value::Null);
    assert!(db.open("other").open_intents().unwrap().is_empty());
    let err = db.open("other").finish_intent(&a).unwrap_err();
    assert!(err.to_string().contains("no intent"), "{err}");
    assert!(store.begin_intent(None, &web, "proxmox", "", None, None, serde_json::Value::Null).is_err());
    assert_eq!(store.intents().unwrap().len(), 4);
}

fn open_intents_survive_a_crash(db: &TestDb) {
    let (pending, started) = {
        let mut store = db.open("default");
        let done = store
            .begin_intent(None, &addr("vm.a"), "proxmox", "create", Some(100), Some("pve1"), serde_json::json!({}))
            .unwrap();
        store.finish_intent(&done).unwrap();
        let pending = store
            .begin_intent(None, &addr("vm.b"), "proxmox", "create", Some(101), Some("pve1"), serde_json::json!({}))
            .unwrap();
        let started = store
            .begin_intent(None, &addr("vm.c"), "proxmox", "update", Some(102), Some("pve1"), serde_json::json!({}))
            .unwrap();
        store.intent_started(&started, "UPID:pve1:c").unwrap();
        // The process dies here: no clean close, nothing finished.
        std::mem::forget(store);
        (pending, started)
    };
    let mut next = db.open("default");
    let open = next.open_intents().unwrap();
    let seen: Vec<(&str, IntentState, Option<&str>)> =
        open.iter().map(|i| (i.id.as_str(), i.state, i.upid.as_deref())).collect();
    assert_eq!(
        seen,
        [(pending.as_str(), IntentState::Pending, None), (started.as_str(), IntentState::Started, Some("UPID:pve1:c"))]
    );
    // Until recovery closes them, their vmids are not handed out again on that cluster.
    let ttl = Duration::from_secs(60);
    assert_eq!(next.reserve_vmid("proxmox", &addr("vm.d"), 100..110, ttl).unwrap(), 100, "a done intent's is free");
    assert_eq!(next.reserve_vmid("proxmox", &addr("vm.e"), 100..110, ttl).unwrap(), 103);
    assert_eq!(next.reserve_vmid("proxmox.dc2", &addr("vm.d"), 101..110, ttl).unwrap(), 101, "another cluster");
    // Recovery closes them.
    next.abandon_intent(&pending, "the guest does not exist: the create never happened").unwrap();
    next.finish_intent(&started).unwrap();
    assert!(next.open_intents().unwrap().is_empty());
}

fn prune_and_export_cover_intents(db: &TestDb) {
    let mut store = db.open("default");
    let run = store.begin_run(RunKind::Apply, "pmx apply").unwrap();
    let mut closed = Vec::new();
    for i in 0..3 {
        let id = store
            .begin_intent(Some(run), &addr("vm.a"), "proxmox", "update", Some(100), None, serde_json::json!({"i": i}))
            .unwrap();
        store.finish_intent(&id).unwrap();
        closed.push(id);
    }
    let open = store
        .begin_intent(Some(run), &addr("vm.b"), "proxmox", "create", Some(101), None, serde_json::json!({}))
        .unwrap();

    // Pull and push carry the journal (open ones matter most: recovery needs them).
    let export = store.pull().unwrap();
    assert_eq!(export.intents.len(), 4);
    let mut copy = db.open("copy");
    let report =
        copy.push(&StateExport::from_json(&serde_json::to_string(&export).unwrap(), "t").unwrap(), false).unwrap();
    assert_eq!(report.intents, 4);
    let copied = copy.open_intents().unwrap();
    assert_eq!(copied.len(), 1);
    assert_eq!(copied[0].id, open);
    assert_eq!(copied[0].run_id, Some(copy.runs(1).unwrap()[0].id), "the run id follows the copied run");

    // keep 1 per address: the two older closed intents of vm.a go, never the open one.
    let dry = store.prune(RetentionPolicy { keep_last: Some(1), max_age: None }, true).unwrap();
    assert_eq!(dry.intents_deleted, 2);
    assert_eq!(store.intents().unwrap().len(), 4, "a dry run deletes nothing");
    let report = store.prune(RetentionPolicy { keep_last: Some(1), max_age: None }, false).unwrap();
    assert_eq!(report.intents_deleted, 2);
    let left: Vec<String> = store.intents().unwrap().into_iter().map(|i| i.id).collect();
    assert_eq!(left, [closed[2].clone(), open.clone()]);
    let report = store.prune(RetentionPolicy { keep_last: None, max_age: Some(Duration::ZERO) }, false).unwrap();
    assert_eq!(report.intents_deleted, 1);
    let left: Vec<String> = store.intents().unwrap().into_iter().map(|i| i.id).collect();
    assert_eq!(left, [open], "open intents are never pruned");
}
