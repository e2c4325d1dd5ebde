//! `pmx import` adopts a varied cluster, and the next plan is empty.

use pmx::proxmox::{GuestKind, Params};

use super::support::*;

#[test]
fn import_of_a_varied_cluster_then_plan_is_empty() {
    // A cluster with every option the schema knows, made by pmx in another project...
    let h = Harness::new();
    let (config, _) = super::perpetual::generated();
    h.write("main.pmx", &config);
    h.plan_and_apply();
    // ...and guests made by hand: tags in any case and order, a linked clone in a pool, a
    // stopped container.
    let c = h.client();
    h.runtime.block_on(async {
        c.create_pool("handmade", Some("made in the web UI")).await.unwrap();
        let p = Params::new().set("name", "Hand-Made.01").set("full", 0).set("pool", "handmade");
        let up = c.clone_guest("pve1", &GuestKind::Qemu, 9000, 4000, &p).await.unwrap();
        c.wait(&up).await.unwrap();
        let p = Params::new().set("tags", "Zeta;alpha").set("cores", 3);
        c.set_config("pve1", &GuestKind::Qemu, 4000, &p, None, &[]).await.unwrap();
        let p = Params::new()
            .set("hostname", "hand-ct")
            .set("ostemplate", "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst")
            .set("rootfs", "local-lvm:2")
            .set("unprivileged", 1)
            .set("net0", "name=eth0,bridge=vmbr0,ip=dhcp");
        let up = c.create_guest("pve2", &GuestKind::Lxc, 4001, &p).await.unwrap();
        c.wait(&up).await.unwrap();
    });
    // A new project adopts all of it.
    let adopter = tempfile::tempdir().unwrap();
    let out = h.pmx_in(adopter.path(), &["import"]);
    assert!(out.status.success(), "import failed: {}\n{}", stdout(&out), stderr(&out));
    let text = std::fs::read_to_string(adopter.path().join("imported.pmx")).unwrap();
    assert!(text.contains("data \"template\" \"debian_12_cloud\""), "templates become data sources");
    let hand =
        &text[text.find("resource \"vm\" \"hand_made_01\"").expect("the hand-made VM, its name made an identifier")..];
    assert!(hand[..hand.find("\n}").unwrap()].contains("pool.handmade.id"), "a reference to the pool: {hand}");
    assert!(text.contains("ignore_changes = [ostemplate]"), "what the API cannot return is ignored");
    let valid = h.pmx_in(adopter.path(), &["validate"]);
    assert!(
        valid.status.success(),
        "the generated configuration validates:\n{}",
        flat(&stderr(&valid)).chars().take(3000).collect::<String>()
    );
    let plan = h.pmx_in(adopter.path(), &["plan", "--detailed-exitcode", "--json"]);
    let parsed: serde_json::Value = serde_json::from_slice(&plan.stdout).unwrap_or_default();
    let changes: Vec<String> = parsed["resource_changes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["pmx"]["action"] != "no-op" && r["pmx"]["action"] != "read")
        .map(|r| format!("{} {}: {}", r["address"], r["pmx"]["action"], r["pmx"]["changes"]))
        .collect();
    assert_eq!(
        plan.status.code(),
        Some(0),
        "the plan after import is not empty:\n{}\n{}",
        changes.join("\n"),
        stderr(&plan)
    );
    // Importing again adopts nothing twice, and refuses a folder with .pmx files without --force.
    let again = h.pmx_in(adopter.path(), &["import"]);
    assert_eq!(again.status.code(), Some(1));
    assert!(flat(&stderr(&again)).contains("already holds .pmx files"), "{}", stderr(&again));
    let sub = adopter.path().join("more");
    let again = h.pmx_in(adopter.path(), &["import", "--out", sub.to_str().unwrap()]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(stdout(&again).contains("already managed"), "{}", stdout(&again));
    let missing = h.pmx_in(adopter.path(), &["import", "--out", "x", "424242"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(flat(&stderr(&missing)).contains("no guest with vmid 424242"), "{}", stderr(&missing));
}

#[test]
fn a_guest_refresh_discovered_becomes_managed_on_import() {
    let h = Harness::new();
    let c = h.client();
    h.runtime.block_on(async {
        let up = c.clone_guest("pve1", &GuestKind::Qemu, 9000, 321, &Params::new().set("name", "found")).await.unwrap();
        c.wait(&up).await.unwrap();
    });
    h.expect(&["refresh"], 0);
    let listed = stdout(&h.expect(&["state", "list"], 0));
    assert!(listed.contains("vm.discovered[321]"), "{listed}");
    h.expect(&["import", "321"], 0);
    let listed = stdout(&h.expect(&["state", "list"], 0));
    assert!(listed.contains("vm.found") && !listed.contains("vm.discovered[321]"), "{listed}");
    h.expect(&["plan", "--detailed-exitcode"], 0);
}

/// The JSON `pmx import --json` printed.
fn import_json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("import --json: {e}\n{}\n{}", stdout(out), stderr(out)))
}

#[test]
fn options_pmx_does_not_model_are_listed_and_never_removed() {
    // Set by root in the web UI (a token may not set args or a hookscript).
    let extras =
        [("args", "-no-hpet"), ("keyboard", "de"), ("localtime", "1"), ("hookscript", "local:snippets/hook.pl")];
    let mut config = serde_json::json!({"name": "odd", "memory": "1024", "scsi0": "local-lvm:2",
        "net0": "virtio,bridge=vmbr0,tag=30"});
    for (k, v) in extras {
        config[k] = v.into();
    }
    let (h, _seed) =
        seeded(serde_json::json!([{"vmid": 500, "type": "qemu", "node": "pve1", "config": config}]), |_| {});
    let c = h.client();
    let out = h.expect(&["import", "--json", "500"], 0);
    let json = import_json(&out);
    assert_eq!(
        json["unmanaged"],
        serde_json::json!([{"address": "vm.odd", "options": ["args", "hookscript", "keyboard", "localtime"]}]),
        "{json}"
    );
    let text = std::fs::read_to_string(h.path("imported.pmx")).unwrap();
    assert!(text.contains("# not managed by pmx: args, hookscript, keyboard, localtime"), "{text}");
    h.expect(&["plan", "--detailed-exitcode"], 0);
    // A change pmx does make leaves them as they are: no `delete=` for what pmx does not manage.
    let edited = text.replacen("  name    = \"odd\"\n", "  name    = \"odd\"\n  description = \"adopted\"\n", 1);
    assert_ne!(edited, text, "{text}");
    h.write("imported.pmx", &edited);
    let plan = h.plan_json(&[]);
    assert_eq!(actions(&plan), [("vm.odd".to_string(), "update".to_string())], "{plan}");
    h.plan_and_apply();
    let live = h.runtime.block_on(c.guest_config("pve1", &GuestKind::Qemu, 500)).unwrap();
    assert_eq!(live.get("description").and_then(|v| v.as_str()), Some("adopted"));
    for (k, v) in extras {
        assert_eq!(
            live.get(k).map(|x| x.to_string().trim_matches('"').to_string()).as_deref(),
            Some(v),
            "{k}: {live:?}"
        );
    }
    h.expect(&["plan", "--detailed-exitcode"], 0);
}

/// A simulator seeded with `guests` (seed-file entries) beside the built-in template.
fn seeded(guests: serde_json::Value, tweak: impl FnOnce(&mut pmx::sim::SimOptions)) -> (Harness, tempfile::TempDir) {
    let mut cluster: serde_json::Value = serde_json::from_str(&pmx::sim::default_cluster_json()).unwrap();
    cluster["guests"].as_array_mut().unwrap().extend(guests.as_array().unwrap().iter().cloned());
    let seed = tempfile::tempdir().unwrap();
    let file = seed.path().join("cluster.json");
    std::fs::write(&file, cluster.to_string()).unwrap();
    let mut options = sim_options();
    options.cluster = Some(file);
    tweak(&mut options);
    (Harness::with(options), seed)
}

#[test]
fn odd_clusters_locked_guests_an_offline_node_and_clashing_names() {
    let vm = |vmid: u32, node: &str, name: &str| {
        serde_json::json!({"vmid": vmid, "type": "qemu", "node": node,
            "config": {"name": name, "memory": "512", "net0": "virtio,bridge=vmbr0"}})
    };
    let mut backup = vm(700, "pve1", "web");
    backup["config"]["lock"] = "backup".into();
    let guests = serde_json::json!([
        backup,
        vm(701, "pve2", "web"),
        vm(702, "pve1", "1-db.example.com"),
        vm(703, "pve3", "far"),
        vm(704, "pve1", "moving"),
    ]);
    let (h, _seed) = seeded(guests, |o| {
        o.offline_nodes.insert("pve3".into(), pmx::sim::OfflineMode::Refused);
        o.task_durations.insert("qmigrate".into(), std::time::Duration::from_secs(60));
    });
    // 704 is mid-migration while the cluster is read: its config carries `lock: migrate`.
    let c = h.client();
    h.runtime.block_on(async { c.migrate("pve1", &GuestKind::Qemu, 704, "pve2", false).await.unwrap() });
    let out = h.pmx(&["import"]);
    let (so, se) = (stdout(&out), stderr(&out));
    assert_eq!(out.status.code(), Some(0), "a partial import still succeeds\n{so}\n{se}");
    assert!(flat(&se).contains("node pve3 did not answer"), "the node is named: {se}");
    assert!(so.contains("skipped vm 703 (far): node pve3 did not answer"), "{so}");
    assert!(so.contains("skipped vm 704 (moving): locked (migrate)"), "{so}");
    assert!(so.contains("note: vm 700 (web): imported while locked (backup)"), "{so}");
    let text = std::fs::read_to_string(h.path("imported.pmx")).unwrap();
    for name in ["resource \"vm\" \"web\"", "resource \"vm\" \"web_2\"", "resource \"vm\" \"vm_1_db_example_com\""] {
        assert!(text.contains(name), "{name} in\n{text}");
    }
    assert!(!text.contains("\"far\"") && !text.contains("\"moving\""), "{text}");
    h.expect(&["validate"], 0);
    h.expect(&["plan", "--detailed-exitcode"], 0);
    // The JSON says the import is incomplete, and which node is missing.
    let json = import_json(&h.expect(&["import", "--json", "--out", "more"], 0));
    assert_eq!(json["complete"], false, "{json}");
    assert_eq!(json["unreachable_nodes"], serde_json::json!(["pve3"]), "{json}");
}

#[test]
fn guests_made_by_proxmoxer_import_to_an_empty_plan() {
    let Some(python) = std::env::var_os("PMX_TEST_PYTHON").filter(|p| !p.is_empty()) else {
        // .ci/test provides it; under CI a missing client is a failure, never a skip.
        assert_ne!(std::env::var("CI").as_deref(), Ok("true"), "PMX_TEST_PYTHON must be set under CI");
        println!("skipped: PMX_TEST_PYTHON not set");
        return;
    };
    let h = Harness::new();
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/proxmoxer/adopt.py");
    let out = std::process::Command::new(&python)
        .arg(&script)
        .env("PMX_ENDPOINT", &h.sim.base_url)
        .env("PMX_TOKEN_ID", &h.sim.token_id)
        .env("PMX_TOKEN_SECRET", &h.sim.token_secret)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {python:?}: {e}"));
    assert!(out.status.success(), "the proxmoxer script failed\n{}\n{}", stdout(&out), stderr(&out));
    h.expect(&["import"], 0);
    let text = std::fs::read_to_string(h.path("imported.pmx")).unwrap();
    for name in ["\"px_web\"", "\"px_linked\"", "\"px_ct\"", "\"px_idle\"", "pool.px_apps.id"] {
        assert!(text.contains(name), "{name} in\n{text}");
    }
    let plan = h.pmx(&["plan", "--detailed-exitcode", "--json"]);
    let parsed: serde_json::Value = serde_json::from_slice(&plan.stdout).unwrap_or_default();
    let changed: Vec<String> = parsed["resource_changes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["pmx"]["action"] != "no-op" && r["pmx"]["action"] != "read")
        .map(|r| format!("{} {} ({}): {}", r["address"], r["pmx"]["action"], r["pmx"]["impact"], r["pmx"]["changes"]))
        .collect();
    assert_eq!(plan.status.code(), Some(0), "the plan after import is not empty:\n{}\n{text}", changed.join("\n"));
    assert!(changed.is_empty(), "{changed:?}");
}

/// Makes VM `vmid` named `name` on pve1 (a disk, a NIC on a VLAN) and a container `vmid + 1`.
fn hand_made(h: &Harness, vmid: u32, name: &str) {
    let c = h.client();
    h.runtime.block_on(async {
        let p = Params::new()
            .set("name", name)
            .set("memory", 1024)
            .set("scsi0", "local-lvm:2")
            .set("net0", "virtio,bridge=vmbr0,tag=12");
        let up = c.create_guest("pve1", &GuestKind::Qemu, vmid, &p).await.unwrap();
        c.wait(&up).await.unwrap();
        let p = Params::new()
            .set("hostname", format!("{name}-ct"))
            .set("ostemplate", "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst")
            .set("rootfs", "local-lvm:1")
            .set("unprivileged", 1);
        let up = c.create_guest("pve2", &GuestKind::Lxc, vmid + 1, &p).await.unwrap();
        c.wait(&up).await.unwrap();
    });
}

#[test]
fn plan_generate_config_out_writes_the_blocks_of_import_blocks() {
    let h = Harness::new();
    hand_made(&h, 330, "gen-me");
    h.write(
        "main.pmx",
        "import {\n  to = vm.web\n  id = \"pve1/qemu/330\"\n}\n\nimport {\n  to = container.box\n  id = \"pve2/lxc/331\"\n}\n",
    );
    // Without the flag the plan says the targets are not declared.
    let out = h.pmx(&["plan"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(flat(&stderr(&out)).contains("import target vm.web is not declared"), "{}", stderr(&out));
    // The file must be a new .pmx file in the project.
    let out = h.pmx(&["plan", "--generate-config-out", "gen.txt"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(flat(&stderr(&out)).contains("must be a .pmx file in the project folder"), "{}", stderr(&out));
    let plan = h.plan_json(&["--generate-config-out", "generated.pmx"]);
    let text = std::fs::read_to_string(h.path("generated.pmx")).expect("the generated file");
    assert!(text.contains("resource \"vm\" \"web\"") && text.contains("resource \"container\" \"box\""), "{text}");
    assert_eq!(change(&plan, "vm.web")["pmx"]["action"], "import", "{plan}");
    assert_eq!(change(&plan, "container.box")["pmx"]["action"], "import", "{plan}");
    assert_eq!(actions(&plan).iter().filter(|(_, a)| a != "import").count(), 0, "only imports: {plan}");
    // A second run refuses to overwrite it.
    let out = h.pmx(&["plan", "--generate-config-out", "generated.pmx"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(flat(&stderr(&out)).contains("never overwrites a file"), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(h.path("generated.pmx")).unwrap(), text);
    h.plan_and_apply();
    h.expect(&["plan", "--detailed-exitcode"], 0);
    let listed = stdout(&h.expect(&["state", "list"], 0));
    assert!(listed.contains("vm.web") && listed.contains("container.box"), "{listed}");
}

#[test]
fn state_import_records_one_guest_for_scripts() {
    let h = Harness::new();
    hand_made(&h, 340, "scripted");
    // The configuration, as `pmx import` wrote it elsewhere (its state is not this project's).
    let elsewhere = tempfile::tempdir().unwrap();
    h.pmx_in(elsewhere.path(), &["import", "340"]);
    let text = std::fs::read_to_string(elsewhere.path().join("imported.pmx")).unwrap();
    assert!(text.contains("resource \"vm\" \"scripted\""), "{text}");
    h.runtime.block_on(h.client().create_pool("team", Some("ops"))).unwrap();
    let text = format!(
        "{text}\nresource \"vm\" \"spare\" {{\n  node = \"pve1\"\n}}\n\nresource \"pool\" \"team\" {{\n  id = \"team\"\n  comment = \"ops\"\n}}\n"
    );
    h.write("main.pmx", &text);
    let out = h.pmx(&["state", "import", "vm.scriptd", "pve1/qemu/340"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(flat(&stderr(&out)).contains("vm.scriptd is not in the configuration"), "{}", stderr(&out));
    assert!(flat(&stderr(&out)).contains("did you mean"), "{}", stderr(&out));
    let out = h.pmx(&["state", "import", "vm.scripted", "pve1/qemu/999"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(flat(&stderr(&out)).contains("no guest with vmid 999"), "{}", stderr(&out));
    let out = h.pmx(&["state", "import", "vm.scripted", "pve1/lxc/341"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(flat(&stderr(&out)).contains("names a lxc guest, but a vm is a qemu guest"), "{}", stderr(&out));
    let out = h.expect(&["state", "import", "vm.scripted", "pve1/qemu/340"], 0);
    assert!(stdout(&out).contains("Imported pve1/qemu/340 as vm.scripted"), "{}", stdout(&out));
    let out = h.pmx(&["state", "import", "vm.scripted", "pve1/qemu/340"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(flat(&stderr(&out)).contains("vm.scripted is already managed"), "{}", stderr(&out));
    let out = h.pmx(&["state", "import", "vm.spare", "340"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(flat(&stderr(&out)).contains("guest 340 is already managed as vm.scripted"), "{}", stderr(&out));
    h.expect(&["state", "import", "pool.team", "team"], 0);
    let out = h.pmx(&["state", "import", "pool.team", "team"]);
    assert!(flat(&stderr(&out)).contains("pool.team is already managed"), "{}", stderr(&out));
    // One run, its snapshot and event.
    let events = stdout(&h.expect(&["state", "events", "--json"], 0));
    assert!(events.contains("ResourceImported") && events.contains("vm.scripted"), "{events}");
    let runs = stdout(&h.expect(&["state", "runs"], 0));
    assert!(runs.contains("pmx state import vm.scripted pve1/qemu/340"), "{runs}");
    // The guest is managed now: only the spare, which is not on the cluster, is planned.
    let plan = h.plan_json(&[]);
    assert_eq!(actions(&plan), [("vm.spare".to_string(), "create".to_string())], "{plan}");
}
