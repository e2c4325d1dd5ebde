//! Every example plans (human, JSON and markdown views as snapshots), applies, and then plans
//! empty.

use super::support::*;

fn json_snapshot_view(h: &Harness, plan: &serde_json::Value) -> String {
    let mut v = plan.clone();
    v["lineage"] = "[LINEAGE]".into();
    v["created_at"] = "[TIME]".into();
    filtered(&serde_json::to_string_pretty(&v).unwrap(), h.dir.path())
}

fn round_trip(h: &Harness, name: &str) {
    let human = h.expect(&["plan", "--out", "plan.out"], 0);
    insta::assert_snapshot!(format!("{name}_plan_human"), filtered(&stdout(&human), h.dir.path()));
    let md = h.expect(&["show", "--format", "markdown", "plan.out"], 0);
    insta::assert_snapshot!(format!("{name}_plan_markdown"), filtered(&stdout(&md), h.dir.path()));
    let shown = h.expect(&["show", "--json", "plan.out"], 0);
    let shown: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(shown["format_version"], "1.2");
    insta::assert_snapshot!(format!("{name}_plan_json"), json_snapshot_view(h, &shown));
    let applied = h.expect(&["apply", "plan.out"], 0);
    assert!(stdout(&applied).contains("Apply complete!"), "{}", stdout(&applied));
    let again = h.expect(&["plan", "--detailed-exitcode"], 0);
    assert!(stdout(&again).contains("No changes."), "{}", stdout(&again));
}

#[test]
fn quickstart_plans_applies_and_converges() {
    let h = Harness::example("quickstart");
    round_trip(&h, "quickstart");
    let (_, node) = h.guest("hello").expect("the VM exists");
    assert_eq!(node, "pve1");
}

#[test]
fn web_tier_plans_applies_and_converges() {
    let h = Harness::example("web-tier");
    round_trip(&h, "web_tier");
    // web-1 and db-0 were cloned from a template on local storage of pve1 to other nodes.
    assert_eq!(h.guest("web-1").map(|g| g.1).as_deref(), Some("pve2"));
    assert_eq!(h.guest("db-0").map(|g| g.1).as_deref(), Some("pve3"));
}

#[test]
fn containers_plan_apply_and_converge() {
    let h = Harness::example("containers");
    round_trip(&h, "containers");
    assert!(h.guest("cache").is_some());
}

#[test]
fn multi_cluster_plans_and_applies_both_clusters_each_with_its_own_provider() {
    let mut h = Harness::example("multi-cluster");
    let dc2 = h.runtime.block_on(pmx::sim::start(sim_options())).expect("second simulator");
    h.extra_env = vec![
        ("PMX_VAR_dc2_endpoint".into(), dc2.base_url.clone()),
        ("PMX_VAR_dc2_token_id".into(), dc2.token_id.clone()),
        ("PMX_VAR_dc2_token_secret".into(), dc2.token_secret.clone()),
        ("PMX_VAR_dc2_fingerprint".into(), dc2.fingerprint.clone()),
    ];
    let out = h.expect(&["plan", "--out", "plan.out"], 0);
    assert!(!stdout(&out).contains(&dc2.token_secret));
    insta::assert_snapshot!("multi_cluster_plan_human", filtered(&stdout(&out), h.dir.path()));
    let md = h.expect(&["show", "--format", "markdown", "plan.out"], 0);
    insta::assert_snapshot!("multi_cluster_plan_markdown", filtered(&stdout(&md), h.dir.path()));
    let shown: serde_json::Value =
        serde_json::from_slice(&h.expect(&["show", "--json", "plan.out"], 0).stdout).unwrap();
    insta::assert_snapshot!("multi_cluster_plan_json", json_snapshot_view(&h, &shown));
    h.expect(&["apply", "plan.out"], 0);
    h.expect(&["plan", "--detailed-exitcode"], 0);
    // Each cluster got its own VM and pool.
    assert!(h.guest("app-dc1").is_some() && h.guest("app-dc2").is_none(), "dc1 holds app-dc1 only");
    let settings = pmx::proxmox::ProviderSettings {
        endpoint: Some(dc2.base_url.clone()),
        token_id: Some(dc2.token_id.clone()),
        token_secret: Some(pmx::proxmox::Secret::new(dc2.token_secret.clone())),
        fingerprint: Some(dc2.fingerprint.clone()),
        ..Default::default()
    };
    let c2 = pmx::proxmox::PveClient::new(pmx::proxmox::ClientConfig::from_settings(settings).unwrap()).unwrap();
    let vms = h.runtime.block_on(c2.cluster_resources(Some("vm"))).unwrap();
    assert!(vms.iter().any(|r| r.name.as_deref() == Some("app-dc2")), "dc2 holds app-dc2");
    assert!(!vms.iter().any(|r| r.name.as_deref() == Some("app-dc1")));
}
