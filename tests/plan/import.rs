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
