//! No perpetual diffs, generated from the schema: for every resource type and every attribute
//! and nested block it knows (each alone, all of a block together, and random valid
//! combinations across attributes and blocks), a guest created through `pmx apply` then plans
//! empty. Values come from the schema itself (allowed values,
//! ranges, defaults); only patterns need a sample, kept in `sample`.

use std::fmt::Write as _;

use pmx::schema::{registry, Attribute, BlockType, Nesting, Presence, ResourceType, UpdateMode, ValueType};
use serde_json::Value as Json;

use super::support::*;

/// A valid sample for an attribute whose value a pattern (or Proxmox) constrains.
fn sample(type_name: &str, path: &str, i: usize) -> Option<&'static str> {
    Some(match (type_name, path) {
        (_, "name" | "hostname") => return None,
        (_, "description") => "\"managed by pmx\"",
        (_, "tags") => "[\"pmx\", \"Perpetual\"]",
        ("vm", "machine") => "\"q35\"",
        ("vm", "boot") => "[\"scsi0\", \"net0\"]",
        ("vm", "hotplug") => "[\"disk\", \"network\", \"cpu\"]",
        ("vm", "cpu.type") => "\"host\"",
        ("vm", "cpu.affinity") => "\"0-1\"",
        ("vm", "cpu.vcpus") => "1",
        ("vm", "cpu.units") => "200",
        ("vm", "memory.balloon") => "256",
        ("vm", "memory.size") => "1024",
        ("vm", "disk.storage") => "\"local-lvm\"",
        ("vm", "disk.size") => "\"2G\"",
        ("vm", "disk.format") => "\"raw\"",
        ("vm", "cdrom.iso") => "\"none\"",
        ("vm", "network.bridge") => "\"vmbr0\"",
        ("vm", "network.trunks") => "\"10;20-30\"",
        ("vm", "network.mtu") => "1500",
        ("vm", "network.mac") => return Some(["\"bc:24:11:00:10:01\"", "\"BC:24:11:00:10:02\""][i % 2]),
        ("vm", "serial.device") => "\"socket\"",
        ("vm", "cloud_init.user") => "\"ops\"",
        ("vm", "cloud_init.password") => "\"s3cret-pass\"",
        ("vm", "cloud_init.ssh_keys") => {
            "[\"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE7QlPbG0nGQWh1kWmCz8a1l9rQZ1bY0G2d3qV5fXxYh ops@example\"]"
        }
        ("vm", "cloud_init.nameserver") => "\"1.1.1.1\"",
        ("vm", "cloud_init.searchdomain") => "\"example.org\"",
        ("vm", "cloud_init.storage") => "\"local-lvm\"",
        ("vm", "cloud_init.drive") => "\"ide2\"",
        ("vm", p) if p.starts_with("cloud_init.ipconfig") => "\"ip=10.0.0.5/24,gw=10.0.0.1\"",
        ("vm", "efi_disk.storage") => "\"local-lvm\"",
        ("container", "ostemplate") => "\"local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst\"",
        ("container", "password") => "\"s3cret-pass\"",
        ("container", "ssh_public_keys") => {
            "[\"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE7QlPbG0nGQWh1kWmCz8a1l9rQZ1bY0G2d3qV5fXxYh ops@example\"]"
        }
        ("container", "nameserver") => "\"1.1.1.1\"",
        ("container", "searchdomain") => "\"example.org\"",
        ("container", "timezone") => "\"Europe/Paris\"",
        ("container", "rootfs.storage" | "mountpoint.storage") => "\"local-lvm\"",
        ("container", "rootfs.size") => "\"5G\"",
        ("container", "mountpoint.size") => "\"2G\"",
        ("container", "mountpoint.path") => "\"/srv/data\"",
        ("container", "network.name") => "\"eth0\"",
        ("container", "network.bridge") => "\"vmbr0\"",
        ("container", "network.ip") => "\"10.0.0.9/24\"",
        ("container", "network.gw") => "\"10.0.0.1\"",
        ("container", "network.ip6") => "\"auto\"",
        ("container", "network.gw6") => "\"fe80::1\"",
        ("container", "network.trunks") => "\"10;20\"",
        ("container", "network.hwaddr") => return Some(["\"bc:24:11:00:20:01\"", "\"BC:24:11:00:20:02\""][i % 2]),
        ("container", "network.mtu") => "1500",
        _ => return None,
    })
}

/// Attributes left out, each with the reason.
fn skipped(type_name: &str, path: &str) -> Option<&'static str> {
    Some(match (type_name, path) {
        (_, "node" | "vmid" | "pool" | "started") => "placement and power, covered by the behaviour tests",
        (_, "name" | "hostname") => "every generated guest sets it",
        ("vm", "disk.import_from") => "needs an image on the storage",
        ("container", "arch") => "must match the template's architecture",
        ("container", "mountpoint.volume") => "an existing volume is its own case",
        ("container", "unprivileged") => "covered by the default (true); false needs root@pam",
        ("container", "rootfs.quota" | "mountpoint.quota") => "quotas need a privileged container",
        ("container", p) if p.starts_with("features.") && p != "features.nesting" => {
            "needs root@pam (an API token may set only nesting)"
        }
        _ => return None,
    })
}

/// A value for an attribute, from the schema: a sample, another allowed value, the other
/// boolean, a number inside the range.
fn value_of(type_name: &str, path: &str, a: &Attribute, i: usize) -> Option<String> {
    if let Some(s) = sample(type_name, path, i) {
        return Some(s.to_string());
    }
    let default = a.default.clone().unwrap_or(Json::Null);
    match &a.ty {
        ValueType::Bool => Some((!default.as_bool().unwrap_or(false)).to_string()),
        ValueType::Number => {
            let (lo, hi) = a.range.unwrap_or((0.0, 1e6));
            let d = default.as_f64().unwrap_or(lo);
            let v = if d + 1.0 <= hi { d + 1.0 } else { lo };
            Some(format!("{}", v as i64))
        }
        ValueType::String => {
            let options = a.one_of.as_ref()?;
            let pick = options.iter().find(|o| Json::String(o.to_string()) != default)?;
            Some(format!("\"{pick}\""))
        }
        ValueType::List(_) => {
            let options = a.one_of.as_ref()?;
            Some(format!("[\"{}\"]", options.last()?))
        }
        _ => None,
    }
}

fn base(rt: &ResourceType, name: &str) -> (String, Vec<&'static str>) {
    match rt.name {
        "vm" => (
            format!("  node = \"pve1\"\n  name = \"{name}\"\n  started = false\n"),
            vec!["disk \"scsi0\" {\n    storage = \"local-lvm\"\n    size = \"1G\"\n  }", "network \"net0\" {\n    bridge = \"vmbr0\"\n  }"],
        ),
        _ => (
            format!(
                "  node = \"pve1\"\n  hostname = \"{name}\"\n  started = false\n  ostemplate = \"local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst\"\n"
            ),
            vec!["rootfs {\n    storage = \"local-lvm\"\n    size = \"4G\"\n  }"],
        ),
    }
}

/// The lines of one block instance: `extra` attributes plus the block's required ones.
fn block_text(
    rt: &ResourceType,
    b: &BlockType,
    slot: Option<&str>,
    attrs: &[(&Attribute, String)],
    i: usize,
) -> Option<String> {
    let mut body = String::new();
    let mut set: Vec<&str> = attrs.iter().map(|(a, _)| a.name).collect();
    for (a, v) in attrs {
        let _ = writeln!(body, "    {} = {v}", a.name);
    }
    // What the block needs besides: its required attributes, and a new volume's storage and size.
    for a in &b.attributes {
        let needed = a.presence == Presence::Required
            || (matches!(b.name, "disk" | "mountpoint") && matches!(a.name, "storage" | "size"))
            || (b.name == "network" && rt.name == "container" && a.name == "gw" && set.contains(&"ip"))
            || (b.name == "network" && rt.name == "container" && a.name == "ip" && set.contains(&"gw"))
            || (b.name == "network" && rt.name == "container" && a.name == "ip6" && set.contains(&"gw6"));
        if needed && !set.contains(&a.name) {
            let v = value_of(rt.name, &format!("{}.{}", b.name, a.name), a, i)?;
            let _ = writeln!(body, "    {} = {v}", a.name);
            set.push(a.name);
        }
    }
    Some(match slot {
        Some(s) => format!("  {} \"{s}\" {{\n{body}  }}", b.name),
        None => format!("  {} {{\n{body}  }}", b.name),
    })
}

/// The slot a generated block instance takes (beside the base guest's own disk and NIC).
fn slot_of(rt: &ResourceType, b: &BlockType) -> Option<&'static str> {
    match &b.nesting {
        _ if rt.name == "container" && b.name == "rootfs" => None,
        Nesting::Slotted { example, .. } => Some(match (rt.name, b.name) {
            ("vm", "disk") => "scsi1",
            ("vm", "cdrom") => "ide0",
            ("vm", "network") | ("container", "network") => "net1",
            ("vm", "serial") => "serial1",
            _ => example,
        }),
        Nesting::Single => None,
    }
}

/// Every guest of the generated configuration: one per attribute, one per whole block.
fn generate(rt: &ResourceType, start: usize) -> (String, Vec<String>) {
    let mut out = String::new();
    let mut covered = Vec::new();
    let counter = std::cell::Cell::new(start);
    let mut guest = |body_extra: Vec<String>, top: Vec<String>, label: String, out: &mut String| {
        let name = format!("p{}", counter.get());
        let (head, defaults) = base(rt, &name);
        let _ = writeln!(out, "resource \"{}\" \"{name}\" {{\n{head}{}", rt.name, top.join(""));
        let named: Vec<String> =
            body_extra.iter().map(|b| b.split_whitespace().take(2).collect::<Vec<_>>().join(" ")).collect();
        for d in defaults {
            let head2 = d.split_whitespace().take(2).collect::<Vec<_>>().join(" ");
            let head1 = d.split_whitespace().next().unwrap_or("");
            if !named
                .iter()
                .any(|n| *n == head2 || (n.split_whitespace().next() == Some(head1) && !head2.contains('"')))
            {
                let _ = writeln!(out, "  {d}");
            }
        }
        for b in body_extra {
            let _ = writeln!(out, "{b}");
        }
        let _ = writeln!(out, "}}\n");
        covered.push(format!("{name}: {label}"));
        counter.set(counter.get() + 1);
    };
    let i = || counter.get();
    for a in &rt.attributes {
        if skipped(rt.name, a.name).is_some() || a.presence == Presence::Computed || a.name == "ostemplate" {
            continue;
        }
        let Some(v) = value_of(rt.name, a.name, a, i()) else { panic!("no value for {}.{}", rt.name, a.name) };
        guest(vec![], vec![format!("  {} = {v}\n", a.name)], a.name.to_string(), &mut out);
    }
    for b in &rt.blocks {
        if b.update == UpdateMode::CreateOnly {
            continue; // the clone block: create-only, covered by every example
        }
        let slot = slot_of(rt, b);
        let usable: Vec<&Attribute> = b
            .attributes
            .iter()
            .filter(|a| {
                skipped(rt.name, &format!("{}.{}", b.name, a.name)).is_none() && a.presence != Presence::Computed
            })
            .collect();
        // Each attribute alone (with what the block needs)...
        for a in &usable {
            let path = format!("{}.{}", b.name, a.name);
            let Some(v) = value_of(rt.name, &path, a, i()) else { panic!("no value for {}.{path}", rt.name) };
            let Some(text) = block_text(rt, b, slot, &[(a, v)], i()) else {
                panic!("cannot fill {}.{}", rt.name, b.name)
            };
            guest(vec![text], vec![], path, &mut out);
        }
        // ...and all of them together.
        let all: Vec<(&Attribute, String)> = usable
            .iter()
            .filter(|a| {
                !(b.name == "cloud_init"
                    && a.name.starts_with("ipconfig")
                    && a.name != "ipconfig0"
                    && a.name != "ipconfig1")
            })
            .filter_map(|a| value_of(rt.name, &format!("{}.{}", b.name, a.name), a, i()).map(|v| (*a, v)))
            .collect();
        if let Some(text) = block_text(rt, b, slot, &all, i()) {
            guest(vec![text], vec![], format!("{} (every attribute)", b.name), &mut out);
        }
    }
    (out, covered)
}

/// `count` guests of `rt`, each with a random mix of top-level attributes and of nested blocks
/// with random subsets of their attributes (from `seed`, so a failure can be replayed with
/// `PMX_PERPETUAL_SEED`).
fn combinations(rt: &ResourceType, start: usize, count: usize, seed: u64) -> (String, Vec<String>) {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed ^ (rt.name.len() as u64) << 32);
    let mut out = String::new();
    let mut covered = Vec::new();
    for n in 0..count {
        let i = start + n;
        let name = format!("c{i}");
        let (head, defaults) = base(rt, &name);
        let mut top = String::new();
        let mut picked = Vec::new();
        for a in &rt.attributes {
            if skipped(rt.name, a.name).is_some() || a.presence == Presence::Computed || a.name == "ostemplate" {
                continue;
            }
            if rng.gen_bool(0.35) {
                if let Some(v) = value_of(rt.name, a.name, a, i) {
                    let _ = writeln!(top, "  {} = {v}", a.name);
                    picked.push(a.name.to_string());
                }
            }
        }
        let mut blocks = Vec::new();
        for b in &rt.blocks {
            if b.update == UpdateMode::CreateOnly || !rng.gen_bool(0.5) {
                continue;
            }
            let slot = slot_of(rt, b);
            let attrs: Vec<(&Attribute, String)> = b
                .attributes
                .iter()
                .filter(|a| {
                    skipped(rt.name, &format!("{}.{}", b.name, a.name)).is_none()
                        && a.presence != Presence::Computed
                        && !(b.name == "cloud_init" && a.name.starts_with("ipconfig") && a.name != "ipconfig0")
                })
                .filter(|_| rng.gen_bool(0.5))
                .filter_map(|a| value_of(rt.name, &format!("{}.{}", b.name, a.name), a, i).map(|v| (a, v)))
                .collect();
            if let Some(text) = block_text(rt, b, slot, &attrs, i) {
                picked.push(format!("{}({})", b.name, attrs.iter().map(|(a, _)| a.name).collect::<Vec<_>>().join(",")));
                blocks.push((b.name, slot, text));
            }
        }
        let _ = writeln!(out, "resource \"{}\" \"{name}\" {{\n{head}{top}", rt.name);
        for d in defaults {
            // The base's own disk, NIC or rootfs, unless a generated block takes its place.
            let head1 = d.split_whitespace().next().unwrap_or("");
            let taken = blocks.iter().any(|(b, slot, _)| {
                *b == head1 && (slot.is_none() || d.contains(&format!("\"{}\"", slot.unwrap_or(""))))
            });
            if !taken {
                let _ = writeln!(out, "  {d}");
            }
        }
        for (_, _, text) in &blocks {
            let _ = writeln!(out, "{text}");
        }
        let _ = writeln!(out, "}}\n");
        covered.push(format!("{}.{name}: {}", rt.name, picked.join(" ")));
    }
    (out, covered)
}

/// The seed of the random combinations: `PMX_PERPETUAL_SEED` (a number, or `random` for a new
/// one, printed and named in a failure so it can be replayed), else a fixed one, so that CI is
/// repeatable. (Seeds tried by hand found the Windows machine pin.)
fn seed() -> u64 {
    match std::env::var("PMX_PERPETUAL_SEED").ok().as_deref() {
        Some("random") => rand::random(),
        Some(s) => s.parse().unwrap_or(20_261_201),
        None => 20_261_201,
    }
}

/// The generated configuration: every attribute of every resource type, and what it covers.
pub fn generated() -> (String, Vec<String>) {
    let mut config = String::from("provider \"proxmox\" {}\n\nresource \"pool\" \"perp\" {\n  id      = \"perp\"\n  comment = \"generated\"\n}\n\n");
    let mut covered = Vec::new();
    let mut start = 0;
    for rt in &registry().resources {
        if rt.name == "pool" {
            covered.push("pool.perp: id, comment".to_string());
            continue;
        }
        let (text, names) = generate(rt, start);
        start += names.len();
        config.push_str(&text);
        covered.extend(names.into_iter().map(|n| format!("{}.{n}", rt.name)));
    }
    // A Windows guest with an unversioned machine: PVE pins the version at creation (found by
    // the random combinations; the codec compares the family).
    config.push_str("resource \"vm\" \"win\" {\n  node = \"pve1\"\n  name = \"win\"\n  started = false\n  machine = \"q35\"\n  ostype = \"win11\"\n}\n\n");
    covered.push("vm.win: machine q35 + ostype win11 (PVE pins the machine version)".to_string());
    // A pool membership too.
    config = config.replacen("  name = \"p0\"\n", "  name = \"p0\"\n  pool = pool.perp.id\n", 1);
    (config, covered)
}

#[test]
fn every_attribute_of_every_resource_type_plans_empty_after_apply() {
    let h = Harness::new();
    let (mut config, mut covered) = generated();
    let seed = seed();
    eprintln!("random combinations from PMX_PERPETUAL_SEED={seed}");
    for rt in registry().resources.iter().filter(|r| r.name != "pool") {
        let (text, names) = combinations(rt, 1000 + covered.len(), 12, seed);
        config.push_str(&text);
        covered.extend(names);
    }
    covered.push(format!("(random combinations: PMX_PERPETUAL_SEED={seed})"));
    h.write("main.pmx", &config);
    let planned = h.pmx(&["plan", "--out", "plan.out"]);
    assert!(planned.status.success(), "plan failed:\n{}\n{}", stderr(&planned), config);
    let applied = h.pmx(&["apply", "plan.out", "--parallelism", "16"]);
    assert!(applied.status.success(), "apply failed:\n{}\n{}", stdout(&applied), stderr(&applied));
    let again = h.plan_json(&[]);
    let changes = actions(&again);
    let details: Vec<String> =
        changes.iter().map(|(a, act)| format!("{a} {act}: {}", change(&again, a)["pmx"]["changes"])).collect();
    assert!(changes.is_empty(), "perpetual diffs:\n{}\n\ncovered:\n{}", details.join("\n"), covered.join("\n"));
    assert!(covered.len() > 100, "the generator covers the schema: {} cases", covered.len());
}
