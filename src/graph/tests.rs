//! The graph API as later stages use it: instances, order, evaluated attributes, unknowns.

use super::*;
use crate::config::{load, VarInputs};

fn graph_of(text: &str) -> Result<ResourceGraph, Diagnostics> {
    graph_with(text, &BuildOptions::default())
}

fn graph_with(text: &str, options: &BuildOptions) -> Result<ResourceGraph, Diagnostics> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("main.pmx"), text).unwrap();
    let inputs = VarInputs { env: Some(Vec::new()), ..VarInputs::default() };
    let (config, diags) = load(dir.path(), &inputs);
    assert!(!diags.has_errors(), "{}", diags.render(false));
    build_with(&config.expect("loads"), options)
}

fn addr(s: &str) -> ResourceAddress {
    s.parse().unwrap()
}

const TWO_TIERS: &str = r#"
variable "n" { default = 2 }
resource "pool" "p" { id = "web" }
resource "vm" "db" {
  for_each = { a = 1, b = 2 }
  node     = "pve${each.value}"
  name     = "db-${each.key}"
}
resource "vm" "web" {
  count       = var.n
  node        = "pve1"
  name        = "web-${count.index}"
  pool        = pool.p.id
  description = vm.db[count.index == 0 ? "a" : "b"].name
  disk "scsi0" {
    storage = "local-lvm"
    size    = "${count.index + 8}G"
  }
}
output "ids" { value = vm.web[*].vmid }
"#;

#[test]
fn instances_come_in_dependency_order_with_their_attributes() {
    let g = graph_of(TWO_TIERS).unwrap();
    let order: Vec<String> = g.instances.keys().map(|a| a.to_string()).collect();
    assert_eq!(order, ["pool.p", "vm.db[\"a\"]", "vm.db[\"b\"]", "vm.web[0]", "vm.web[1]"]);
    let web1 = &g.instances[&addr("vm.web[1]")];
    assert_eq!(web1.attributes["name"], Value::String("web-1".into()));
    assert_eq!(web1.attributes["pool"], Value::String("web".into()));
    assert_eq!(web1.attributes["description"], Value::String("db-b".into()));
    let disk = &web1.attributes["disk"];
    assert_eq!(disk.to_string(), "{scsi0 = {storage = \"local-lvm\", size = \"9G\"}}");
    // vm.web[1] picks vm.db["b"] only, and the pool.
    assert_eq!(web1.depends_on, vec![addr("pool.p"), addr("vm.db[\"b\"]")]);
    assert_eq!(g.outputs["ids"].value, Value::List(vec![Value::Unknown, Value::Unknown]));
}

#[test]
fn known_values_from_state_fill_in_unknowns() {
    let mut options = BuildOptions::default();
    options.known.insert(addr("vm.web[0]"), [("vmid".to_string(), Value::Number(100.0))].into());
    let g = graph_with(TWO_TIERS, &options).unwrap();
    assert_eq!(g.outputs["ids"].value, Value::List(vec![Value::Number(100.0), Value::Unknown]));
}

#[test]
fn unknown_values_flow_into_dependents() {
    let g = graph_of(
        r#"
resource "vm" "a" { node = "pve1" }
resource "vm" "b" {
  node = "pve1"
  name = "after-${vm.a.vmid}"
  tags = [vm.a.name == null ? "unnamed" : "named"]
}
"#,
    )
    .unwrap();
    let b = &g.instances[&addr("vm.b")];
    assert_eq!(b.attributes["name"], Value::Unknown);
    assert_eq!(b.attributes["tags"], Value::List(vec![Value::String("unnamed".into())]));
    assert_eq!(b.depends_on, vec![addr("vm.a")]);
}

#[test]
fn a_cycle_names_every_step() {
    let err = graph_of(
        r#"
resource "vm" "a" {
  node = "pve1"
  name = vm.b.name
}
resource "vm" "b" {
  node = "pve1"
  name = vm.a.name
}
"#,
    )
    .unwrap_err();
    let d = err.iter().find(|d| d.code.as_deref() == Some("pmx::config::cycle")).expect("a cycle error");
    assert_eq!(d.message, "dependency cycle: vm.a → vm.b → vm.a");
    assert_eq!(d.related.len(), 1);
    assert!(d.position().is_some() && d.related[0].position().is_some());
}

#[test]
fn sensitive_attributes_stay_marked() {
    let g = graph_of(
        r#"
variable "pw" {
  default   = "hunter2"
  sensitive = true
}
resource "vm" "a" {
  node = "pve1"
  cloud_init { password = var.pw }
}
"#,
    )
    .unwrap();
    let a = &g.instances[&addr("vm.a")];
    assert!(a.attributes["cloud_init"].is_sensitive());
    assert!(!format!("{}", a.attributes["cloud_init"]).contains("hunter2"));
}

#[test]
fn dot_output_lists_resources_and_edges() {
    let g = graph_of(TWO_TIERS).unwrap();
    let dot = render::dot(&g, true);
    assert!(dot.contains("\"vm.web[0]\" -> \"pool.p\";"), "{dot}");
    assert!(dot.contains("\"vm.web[0]\" -> \"vm.db[\\\"a\\\"]\";"), "{dot}");
    assert!(!dot.contains("var.n"), "{dot}");
    let json = render::json(&g, false);
    assert!(json["nodes"].as_array().unwrap().iter().any(|n| n["id"] == "var.n"));
}

#[test]
fn a_pool_without_id_takes_its_block_name() {
    let g = graph_of(
        r#"
resource "pool" "web" { comment = "web tier" }
resource "vm" "a" {
  node = "pve1"
  pool = pool.web.id
}
"#,
    )
    .unwrap();
    assert_eq!(g.instances[&addr("pool.web")].attributes["id"], Value::String("web".into()));
    assert_eq!(g.instances[&addr("vm.a")].attributes["pool"], Value::String("web".into()));
}

/// Attributes of nested and slotted blocks that Proxmox computes are unknown until apply;
/// unset ones with a default have it; a single block left out is null.
#[test]
fn nested_block_attributes_can_be_referenced() {
    let g = graph_of(
        r#"
resource "vm" "a" {
  node = "pve1"
  cpu { cores = 2 }
  disk "scsi0" {
    storage = "local-lvm"
    size    = "8G"
  }
  network "net0" { bridge = "vmbr0" }
}
resource "container" "c" {
  node       = "pve1"
  ostemplate = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"
  rootfs {
    storage = "local-lvm"
    size    = "8G"
  }
  network "net0" {
    bridge = "vmbr0"
    name   = "eth0"
  }
  mountpoint "mp0" {
    storage = "local-lvm"
    size    = "8G"
    path    = "/data"
  }
}
output "computed" {
  value = [vm.a.network["net0"].mac, container.c.network["net0"].hwaddr, container.c.mountpoint["mp0"].volume]
}
output "defaults" { value = [vm.a.cpu.sockets, vm.a.cpu.cores, vm.a.disk["scsi0"].size] }
output "absent" { value = vm.a.cloud_init }
"#,
    )
    .unwrap();
    assert_eq!(g.outputs["computed"].value, Value::List(vec![Value::Unknown; 3]));
    assert_eq!(g.outputs["defaults"].value.to_string(), "[1, 2, \"8G\"]");
    assert_eq!(g.outputs["absent"].value, Value::Null);
}
