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
    assert!(report.contains("did you mean vm.web[0]?"), "{report}");
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
