//! The registry: every resource type and data source, built once.

use std::sync::OnceLock;

use super::*;

pub fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| Registry {
        resources: vec![super::vm::vm(), super::container::container(), super::pool::pool()],
        data_sources: vec![super::data::node(), super::data::template(), super::data::storage()],
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    fn every_attribute() -> Vec<(String, &'static Attribute)> {
        fn walk_block(out: &mut Vec<(String, &'static Attribute)>, path: String, b: &'static BlockType) {
            for a in &b.attributes {
                out.push((format!("{path}.{}", a.name), a));
            }
            for nested in &b.blocks {
                walk_block(out, format!("{path}.{}", nested.name), nested);
            }
        }
        let mut out = vec![];
        for rt in registry().resources.iter().chain(&registry().data_sources) {
            for a in &rt.attributes {
                out.push((format!("{}.{}", rt.qualified_name(), a.name), a));
            }
            for b in &rt.blocks {
                walk_block(&mut out, format!("{}.{}", rt.qualified_name(), b.name), b);
            }
        }
        out
    }

    #[test]
    fn the_first_resource_types_and_data_sources_exist() {
        let names = registry().qualified_names();
        for n in ["vm", "container", "pool", "data.node", "data.template", "data.storage"] {
            assert!(names.iter().any(|x| x == n), "{n} missing from {names:?}");
        }
    }

    #[test]
    fn names_are_unique_at_every_level() {
        let mut seen = HashSet::new();
        for (path, _) in every_attribute() {
            assert!(seen.insert(path.clone()), "duplicate attribute {path}");
        }
        for rt in registry().resources.iter().chain(&registry().data_sources) {
            let blocks: HashSet<_> = rt.blocks.iter().map(|b| b.name).collect();
            assert_eq!(blocks.len(), rt.blocks.len(), "duplicate block in {}", rt.name);
            for b in &blocks {
                assert!(rt.attribute(b).is_none(), "{}.{b} is both an attribute and a block", rt.name);
            }
        }
    }

    #[test]
    fn patterns_compile_and_slot_examples_match() {
        for (path, a) in every_attribute() {
            if let Some(p) = a.pattern {
                assert!(p.starts_with('^') && p.ends_with('$'), "{path}: pattern must be anchored: {p}");
                regex::Regex::new(p).unwrap_or_else(|e| panic!("{path}: {e}"));
            }
        }
        for rt in &registry().resources {
            for b in &rt.blocks {
                if let Nesting::Slotted { slot_pattern, example } = &b.nesting {
                    let re = regex::Regex::new(slot_pattern).expect("slot pattern compiles");
                    assert!(re.is_match(example), "{}.{}: example {example} does not match", rt.name, b.name);
                }
            }
        }
    }

    #[test]
    fn constraints_name_real_attributes_and_blocks() {
        for rt in registry().resources.iter().chain(&registry().data_sources) {
            let attributes_of = |block: Option<&str>| -> Vec<&'static str> {
                match block {
                    None => rt.attributes.iter().map(|a| a.name).collect(),
                    Some(b) => rt
                        .block(b)
                        .unwrap_or_else(|| panic!("{}: no block {b}", rt.name))
                        .attributes
                        .iter()
                        .map(|a| a.name)
                        .collect(),
                }
            };
            for rule in &rt.constraints {
                let (block, names): (Option<&str>, Vec<&str>) = match rule {
                    Constraint::ExactlyOneOf { block, attributes } => (*block, attributes.clone()),
                    Constraint::Requires { block, when, then } => (*block, vec![when, then]),
                    Constraint::OnlyInSlots { block, attribute, slots } => {
                        regex::Regex::new(slots).unwrap_or_else(|e| panic!("{}: {e}", rt.name));
                        assert!(matches!(rt.block(block).map(|b| &b.nesting), Some(Nesting::Slotted { .. })));
                        (Some(*block), vec![attribute])
                    }
                };
                let known = attributes_of(block);
                for n in names {
                    assert!(known.contains(&n), "{}: rule {rule} names unknown attribute {n}", rt.name);
                }
            }
        }
    }

    #[test]
    fn slot_patterns_accept_exactly_the_proxmox_ranges() {
        let vm = registry().resource("vm").expect("vm");
        let ct = registry().resource("container").expect("container");
        let slots = |rt: &ResourceType, block: &str| match &rt.block(block).expect("block").nesting {
            Nesting::Slotted { slot_pattern, .. } => regex::Regex::new(slot_pattern).expect("compiles"),
            Nesting::Single => panic!("{block} should be slotted"),
        };
        let disk = slots(vm, "disk");
        for ok in ["scsi0", "scsi30", "virtio15", "sata5", "ide3"] {
            assert!(disk.is_match(ok), "{ok}");
        }
        for bad in ["scsi31", "virtio16", "sata6", "ide4", "net0", "scsi", "scsi01x"] {
            assert!(!disk.is_match(bad), "{bad}");
        }
        let net = slots(vm, "network");
        assert!(net.is_match("net31") && !net.is_match("net32") && !net.is_match("eth0"));
        let mp = slots(ct, "mountpoint");
        assert!(mp.is_match("mp0") && mp.is_match("mp255") && !mp.is_match("mp256") && !mp.is_match("mp07"));
    }

    #[test]
    fn defaults_obey_their_own_constraints() {
        for (path, a) in every_attribute() {
            let Some(default) = &a.default else { continue };
            let values: Vec<&serde_json::Value> = match default {
                serde_json::Value::Array(items) => items.iter().collect(),
                v => vec![v],
            };
            for v in values {
                if let (Some(one_of), Some(s)) = (&a.one_of, v.as_str()) {
                    assert!(one_of.contains(&s), "{path}: default {s} not in {one_of:?}");
                }
                if let (Some((min, max)), Some(n)) = (a.range, v.as_f64()) {
                    assert!(n >= min && n <= max, "{path}: default {n} outside {min}..{max}");
                }
                if let (Some(p), Some(s)) = (a.pattern, v.as_str()) {
                    assert!(regex::Regex::new(p).expect("compiles").is_match(s), "{path}: default {s} vs {p}");
                }
                let type_ok = match a.ty {
                    ValueType::String => v.is_string(),
                    ValueType::Number => v.is_number(),
                    ValueType::Bool => v.is_boolean(),
                    ValueType::List(_) | ValueType::Set(_) => v.is_string() || v.is_number(),
                    ValueType::Map(_) | ValueType::Any => true,
                };
                assert!(type_ok, "{path}: default {v} is not a {}", a.ty);
            }
        }
    }

    #[test]
    fn secrets_are_sensitive_and_computed_values_have_no_default() {
        for (path, a) in every_attribute() {
            if a.name.contains("password") || a.name.contains("secret") {
                assert!(a.sensitive, "{path} should be sensitive");
            }
            if a.presence == Presence::Computed {
                assert!(a.default.is_none(), "{path}: computed attributes have no default");
            }
            if a.presence == Presence::Required {
                assert!(a.default.is_none(), "{path}: a required attribute with a default is optional");
            }
        }
    }

    #[test]
    fn pve_targets_resolve_slots_and_keys() {
        let vm = registry().resource("vm").expect("vm");
        let bridge = vm.block("network").and_then(|b| b.attribute("bridge")).expect("bridge");
        assert_eq!(bridge.pve_target(Some("net1")), Some(("net1".to_string(), Some("bridge"))));
        assert_eq!(bridge.pve_target(None), None);
        let cpu_type = vm.block("cpu").and_then(|b| b.attribute("type")).expect("cpu.type");
        assert_eq!(cpu_type.pve_target(None), Some(("cpu".to_string(), Some("cputype"))));
        let cores = vm.block("cpu").and_then(|b| b.attribute("cores")).expect("cores");
        assert_eq!(cores.pve_target(None), Some(("cores".to_string(), None)));
    }

    #[test]
    fn sensitive_paths_reach_into_blocks() {
        let vm = registry().resource("vm").expect("vm");
        assert_eq!(vm.sensitive_paths(), ["cloud_init.password"]);
        let ct = registry().resource("container").expect("container");
        assert_eq!(ct.sensitive_paths(), ["password"]);
    }

    #[test]
    fn update_modes_follow_proxmox_hotplug_rules() {
        let vm = registry().resource("vm").expect("vm");
        let cores = vm.block("cpu").and_then(|b| b.attribute("cores")).expect("cores");
        assert_eq!(cores.update_mode(&["cpu", "memory"]), UpdateMode::Reboot, "cores never hot-plug");
        let vcpus = vm.block("cpu").and_then(|b| b.attribute("vcpus")).expect("vcpus");
        assert_eq!(vcpus.update_mode(DEFAULT_HOTPLUG), UpdateMode::Reboot);
        assert_eq!(vcpus.update_mode(&["cpu"]), UpdateMode::Live);
        let memory = vm.block("memory").and_then(|b| b.attribute("size")).expect("memory.size");
        assert_eq!(memory.update, UpdateMode::Reboot);
        assert_eq!(memory.update_mode(&["memory"]), UpdateMode::Live);
        let bridge = vm.block("network").and_then(|b| b.attribute("bridge")).expect("bridge");
        assert_eq!(bridge.update, UpdateMode::Live);
        assert_eq!(bridge.update_mode(&[]), UpdateMode::Reboot);
        let size = vm.block("disk").and_then(|b| b.attribute("size")).expect("disk.size");
        assert_eq!(
            (size.update, size.changed_by.map(|c| c.endpoint)),
            (UpdateMode::Live, Some("PUT /nodes/{node}/qemu/{vmid}/resize"))
        );
        assert_eq!(vm.attribute("vmid").map(|a| a.update), Some(UpdateMode::Replace));

        let ct = registry().resource("container").expect("container");
        for live in ["memory", "swap", "cores"] {
            assert_eq!(ct.attribute(live).map(|a| a.update), Some(UpdateMode::Live), "container {live}");
        }
        for create_only in ["password", "ssh_public_keys"] {
            assert_eq!(ct.attribute(create_only).map(|a| a.update), Some(UpdateMode::CreateOnly));
        }
        assert_eq!(ct.attribute("vmid").map(|a| a.update), Some(UpdateMode::Replace));
    }
}
