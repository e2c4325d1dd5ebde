//! The schema registry against the world: the generated docs in the repository, the real
//! Proxmox VE API schema in ../shared, and the `pmx schema` command.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use pmx::schema::{docs, registry, Attribute, BlockType, Nesting, ResourceType, SchemaKind, ValueType};
use serde_json::{Map, Value};

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

// ---------------------------------------------------------------------------------------------
// Generated documents cannot drift.

#[test]
fn generated_docs_match_the_registry() {
    let root = repo_root();
    let update = std::env::var_os("PMX_UPDATE_DOCS").is_some_and(|v| v == "1");
    let files = docs::generated_files(registry());
    let mut stale = vec![];
    for (rel, text) in &files {
        let path = root.join(rel);
        let current = std::fs::read_to_string(&path).ok();
        if current.as_deref() == Some(text.as_str()) {
            continue;
        }
        if update {
            std::fs::create_dir_all(path.parent().expect("has a parent")).expect("create docs folder");
            std::fs::write(&path, text).expect("write generated file");
            eprintln!("updated {}", rel.display());
        } else {
            stale.push(format!("{} ({})", rel.display(), if current.is_some() { "differs" } else { "missing" }));
        }
    }
    // Pages for types the registry no longer has.
    let generated: BTreeSet<PathBuf> = files.iter().map(|(p, _)| p.clone()).collect();
    for folder in ["docs/resources", "docs/data-sources"] {
        let Ok(entries) = std::fs::read_dir(root.join(folder)) else { continue };
        for entry in entries.flatten() {
            let rel = Path::new(folder).join(entry.file_name());
            if rel.extension().is_some_and(|e| e == "md") && !generated.contains(&rel) {
                if update {
                    std::fs::remove_file(root.join(&rel)).expect("remove stale page");
                    eprintln!("removed {}", rel.display());
                } else {
                    stale.push(format!("{} (no such type in the registry)", rel.display()));
                }
            }
        }
    }
    assert!(
        stale.is_empty(),
        "generated files are out of date with the registry in src/schema:\n  {}\nrun `{}` to refresh them",
        stale.join("\n  "),
        docs::REFRESH_COMMAND
    );
}

// ---------------------------------------------------------------------------------------------
// Conformance with the real PVE API schema.

fn shared_dir() -> Option<PathBuf> {
    let dir = match std::env::var_os("PMX_SHARED_DIR") {
        Some(d) => PathBuf::from(d),
        None => repo_root().join("../shared"),
    };
    if dir.join("pve-api/pve-api-schema.json").is_file() {
        return Some(dir);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("../shared not found at {} (set PMX_SHARED_DIR); CI must run the conformance tests", dir.display());
    }
    println!("skipped: ../shared not found");
    None
}

/// The PVE API schema, indexed by "METHOD path".
struct PveApi {
    endpoints: Map<String, Value>,
}

impl PveApi {
    fn load(shared: &Path) -> Self {
        let text = std::fs::read_to_string(shared.join("pve-api/pve-api-schema.json")).expect("read the PVE schema");
        let tree: Value = serde_json::from_str(&text).expect("the PVE schema is JSON");
        let mut endpoints = Map::new();
        fn walk(node: &Value, out: &mut Map<String, Value>) {
            if let (Some(path), Some(info)) = (node["path"].as_str(), node["info"].as_object()) {
                for (method, def) in info {
                    out.insert(format!("{method} {path}"), def.clone());
                }
            }
            for child in node["children"].as_array().into_iter().flatten() {
                walk(child, out);
            }
        }
        for node in tree.as_array().expect("a list of tree nodes") {
            walk(node, &mut endpoints);
        }
        PveApi { endpoints }
    }

    fn endpoint(&self, key: &str) -> &Value {
        self.endpoints.get(key).unwrap_or_else(|| panic!("the PVE schema has no endpoint {key}"))
    }

    /// The parameters of several endpoints, merged.
    fn params(&self, keys: &[&str]) -> Map<String, Value> {
        let mut all = Map::new();
        for key in keys {
            let props = &self.endpoint(key)["parameters"]["properties"];
            for (name, def) in props.as_object().expect("properties") {
                all.entry(name.clone()).or_insert_with(|| def.clone());
            }
        }
        all
    }

    /// The fields of a GET endpoint's answer (of each item, for lists).
    fn returns(&self, key: &str) -> Map<String, Value> {
        let r = &self.endpoint(key)["returns"];
        let props = if r["type"] == "array" { &r["items"]["properties"] } else { &r["properties"] };
        props.as_object().cloned().unwrap_or_default()
    }
}

/// `net0` finds `net[n]`; `net[n]` and `cores` find themselves.
fn find_param<'p>(params: &'p Map<String, Value>, name: &str) -> Option<&'p Value> {
    if let Some(def) = params.get(name) {
        return Some(def);
    }
    let stem = name.trim_end_matches(|c: char| c.is_ascii_digit());
    (stem.len() < name.len()).then(|| params.get(&format!("{stem}[n]"))).flatten()
}

/// The key of a property-string parameter, following PVE's aliases. `Ok(None)` when the
/// parameter uses a named format whose keys the schema does not list (e.g. `pve-vm-cpu-conf`).
fn find_key<'p>(param: &'p Value, key: &str) -> Result<Option<&'p Value>, String> {
    match &param["format"] {
        Value::Object(keys) => {
            let def = keys.get(key).ok_or_else(|| format!("no key `{key}` (keys: {:?})", keys.keys()))?;
            match def["alias"].as_str() {
                Some(target) => keys.get(target).map(Some).ok_or_else(|| format!("alias {key} → {target} is dangling")),
                None => Ok(Some(def)),
            }
        }
        Value::String(_) => Ok(None),
        _ => Err(format!("it is not a property string, so it has no key `{key}`")),
    }
}

fn number(v: &Value) -> Option<f64> {
    v.as_f64().or_else(|| v.as_str().and_then(|s| s.parse().ok()))
}

/// Checks one attribute's enum, range and type against the PVE definition it maps to.
fn check_constraints(path: &str, a: &Attribute, def: &Value, problems: &mut Vec<String>) {
    if let (Some(ours), Some(theirs)) = (&a.one_of, def["enum"].as_array()) {
        let theirs: Vec<&str> = theirs.iter().filter_map(Value::as_str).collect();
        for v in ours {
            if !theirs.contains(v) {
                problems.push(format!("{path}: `{v}` is not among PVE's values {theirs:?}"));
            }
        }
    }
    if let Some((min, max)) = a.range {
        if let Some(pmin) = number(&def["minimum"]) {
            if min < pmin {
                problems.push(format!("{path}: minimum {min} is below PVE's {pmin}"));
            }
        }
        if let Some(pmax) = number(&def["maximum"]) {
            if max > pmax {
                problems.push(format!("{path}: maximum {max} is above PVE's {pmax}"));
            }
        }
    }
    if let (Some(ours), Some(theirs)) = (&a.default, def.get("default")) {
        if !PMX_DEFAULTS.contains(&path) && !same_default(ours, theirs) {
            problems
                .push(format!("{path}: default {ours} differs from PVE's {theirs} (list it in PMX_DEFAULTS if meant)"));
        }
    }
    let pve_type = def["type"].as_str().unwrap_or("string");
    let type_ok = match (&a.ty, pve_type) {
        (ValueType::Number, t) => t == "integer" || t == "number",
        (_, "boolean") => a.ty == ValueType::Bool,
        (ValueType::Bool, "string") => def["enum"].as_array().is_some_and(|e| e.len() == 2),
        (ValueType::Bool, t) => t == "boolean",
        _ => true,
    };
    if !type_ok {
        problems.push(format!("{path}: type {} does not fit PVE's {pve_type}", a.ty));
    }
}

/// Defaults where pmx deliberately differs from Proxmox (and sends its own value on create).
const PMX_DEFAULTS: &[&str] = &["container.unprivileged", "vm.efi_disk.type"];

/// Whether our default (JSON) is PVE's default, which comes as 0/1 for booleans, numbers or
/// strings, and comma-separated text for lists.
fn same_default(ours: &Value, theirs: &Value) -> bool {
    match (ours, theirs) {
        (Value::Bool(b), t) => number(t).is_some_and(|n| n == f64::from(u8::from(*b))),
        (Value::Number(n), t) => number(t) == n.as_f64(),
        (Value::String(s), Value::String(t)) => s == t,
        (Value::Array(items), Value::String(t)) => {
            items.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(",") == *t
        }
        _ => false,
    }
}

/// Attributes of managed resources that are pmx's own and map to no parameter.
const PMX_ONLY: &[&str] = &["vm.started", "container.started", "vm.cloud_init.storage", "vm.cloud_init.drive"];

fn check_attribute(
    path: &str,
    a: &Attribute,
    params: &Map<String, Value>,
    block: Option<&BlockType>,
    problems: &mut Vec<String>,
) {
    let Some(pve) = a.pve_param else {
        if !PMX_ONLY.contains(&path) {
            problems.push(format!("{path}: no pve_param (add one, or list it among pmx's own attributes)"));
        }
        return;
    };
    let (base, key) = match pve.split_once('.') {
        Some((b, k)) => (b, Some(k)),
        None => (pve, None),
    };
    let bases: Vec<&str> = if base == "{slot}" {
        match block.and_then(|b| b.pve_param) {
            Some(alts) => alts.split('|').collect(),
            None => {
                problems.push(format!("{path}: `{{slot}}` needs the block to name its parameters"));
                return;
            }
        }
    } else {
        vec![base]
    };
    let mut found = vec![];
    let mut misses = vec![];
    for b in &bases {
        let Some(param) = find_param(params, b) else {
            misses.push(format!("no parameter `{b}`"));
            continue;
        };
        match key {
            None => found.push(param),
            Some(k) => match find_key(param, k) {
                Ok(Some(def)) => found.push(def),
                Ok(None) => {} // a named format: the parameter exists, its keys are not listed
                Err(e) => misses.push(format!("`{b}`: {e}")),
            },
        }
    }
    let named_format = key.is_some() && misses.is_empty() && found.is_empty();
    if found.is_empty() && !named_format {
        problems.push(format!("{path}: pve_param `{pve}` not in the PVE API: {}", misses.join("; ")));
        return;
    }
    for def in found {
        check_constraints(path, a, def, problems);
    }
}

fn check_block(path: &str, b: &BlockType, params: &Map<String, Value>, problems: &mut Vec<String>) {
    if let Some(alts) = b.pve_param {
        for alt in alts.split('|') {
            if find_param(params, alt).is_none() {
                problems.push(format!("{path}: block parameter `{alt}` not in the PVE API"));
            }
        }
    }
    if matches!(b.nesting, Nesting::Slotted { .. }) && b.pve_param.is_none() {
        problems.push(format!("{path}: a slotted block must name the parameters its slots are"));
    }
    for a in &b.attributes {
        check_attribute(&format!("{path}.{}", a.name), a, params, Some(b), problems);
    }
    for nested in &b.blocks {
        check_block(&format!("{path}.{}", nested.name), nested, params, problems);
    }
}

/// The create and update endpoints a resource type's parameters must come from.
fn endpoints_of(rt: &ResourceType, block: Option<&str>) -> Vec<&'static str> {
    match (rt.name, block) {
        ("vm", Some("clone")) => vec!["POST /nodes/{node}/qemu/{vmid}/clone"],
        ("vm", _) => vec!["POST /nodes/{node}/qemu", "PUT /nodes/{node}/qemu/{vmid}/config"],
        ("container", _) => vec!["POST /nodes/{node}/lxc", "PUT /nodes/{node}/lxc/{vmid}/config"],
        ("pool", _) => vec!["POST /pools", "PUT /pools/{poolid}"],
        (other, _) => panic!("no PVE endpoints known for resource type {other}: add them to endpoints_of"),
    }
}

#[test]
fn resource_parameters_exist_in_the_pve_api() {
    let Some(shared) = shared_dir() else { return };
    let api = PveApi::load(&shared);
    let mut problems = vec![];
    let mut checked = 0;
    for rt in &registry().resources {
        let params = api.params(&endpoints_of(rt, None));
        for a in &rt.attributes {
            check_attribute(&format!("{}.{}", rt.name, a.name), a, &params, None, &mut problems);
            checked += 1;
        }
        for b in &rt.blocks {
            let params = api.params(&endpoints_of(rt, Some(b.name)));
            check_block(&format!("{}.{}", rt.name, b.name), b, &params, &mut problems);
            checked += b.attributes.len();
        }
    }
    assert!(checked > 100, "only {checked} attributes checked");
    assert!(problems.is_empty(), "{} problems:\n  {}", problems.len(), problems.join("\n  "));
}

#[test]
fn data_source_fields_exist_in_the_pve_answers() {
    let Some(shared) = shared_dir() else { return };
    let api = PveApi::load(&shared);
    let mut problems = vec![];
    for ds in &registry().data_sources {
        let source = match ds.name {
            "node" => "GET /nodes",
            "template" => "GET /cluster/resources",
            "storage" => "GET /nodes/{node}/storage",
            other => panic!("no PVE endpoint known for data source {other}"),
        };
        let fields = api.returns(source);
        for a in &ds.attributes {
            match a.pve_param {
                Some(p) if !fields.contains_key(p) => {
                    problems.push(format!("data.{}.{}: `{p}` is not a field of {source}", ds.name, a.name))
                }
                Some(p) => check_constraints(&format!("data.{}.{}", ds.name, a.name), a, &fields[p], &mut problems),
                None => {}
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn api_calls_named_by_changed_by_exist() {
    let Some(shared) = shared_dir() else { return };
    let api = PveApi::load(&shared);
    let mut calls = BTreeSet::new();
    fn collect(attrs: &[Attribute], blocks: &[BlockType], out: &mut BTreeSet<&'static str>) {
        out.extend(attrs.iter().filter_map(|a| a.changed_by.map(|c| c.endpoint)));
        for b in blocks {
            collect(&b.attributes, &b.blocks, out);
        }
    }
    for rt in &registry().resources {
        collect(&rt.attributes, &rt.blocks, &mut calls);
    }
    assert!(calls.len() >= 5, "{calls:?}");
    let missing: Vec<_> = calls.iter().filter(|c| !api.endpoints.contains_key(**c)).collect();
    assert!(missing.is_empty(), "not in the PVE API: {missing:?}");
}

/// The checker itself must catch a wrong parameter, a foreign enum value and an out-of-range
/// bound; otherwise the conformance tests above prove nothing.
#[test]
fn the_conformance_checker_catches_mistakes() {
    let Some(shared) = shared_dir() else { return };
    let api = PveApi::load(&shared);
    let vm = registry().resource("vm").expect("vm");
    let params = api.params(&endpoints_of(vm, None));
    let network = vm.block("network").expect("network");
    let model = network.attribute("model").expect("model").clone();
    let tag = network.attribute("tag").expect("tag").clone();
    let cases = [
        Attribute { pve_param: Some("corez"), ..model.clone() },
        Attribute { pve_param: Some("{slot}.bridgee"), ..model.clone() },
        Attribute { one_of: Some(vec!["virtio", "token-ring"]), ..model.clone() },
        Attribute { range: Some((0.0, 4094.0)), ..tag.clone() },
        Attribute { range: Some((1.0, 5000.0)), ..tag.clone() },
        Attribute { ty: ValueType::Bool, ..tag },
    ];
    for bad in cases {
        let mut problems = vec![];
        check_attribute("vm.network.x", &bad, &params, Some(network), &mut problems);
        assert!(!problems.is_empty(), "not caught: {bad:?}");
    }
    let mut problems = vec![];
    check_attribute("vm.network.model", &model, &params, Some(network), &mut problems);
    assert!(problems.is_empty(), "{problems:?}");

    // A default that is not Proxmox's: `scsihw` defaults to `lsi`, `hotplug` to `network,disk,usb`.
    let scsihw = vm.attribute("scsihw").expect("scsihw");
    let hotplug = vm.attribute("hotplug").expect("hotplug");
    for bad in [
        Attribute { default: Some("virtio-scsi-single".into()), ..scsihw.clone() },
        Attribute { default: Some(serde_json::json!(["network", "disk"])), ..hotplug.clone() },
    ] {
        let mut problems = vec![];
        check_attribute("vm.x", &bad, &params, None, &mut problems);
        assert!(problems.iter().any(|p| p.contains("differs from PVE")), "not caught: {bad:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// The `pmx schema` command, run as the real binary.

fn pmx() -> Command {
    let mut cmd = Command::cargo_bin("pmx").expect("the pmx binary");
    cmd.env("NO_COLOR", "1").env_remove("PMX_LOG");
    cmd
}

fn stdout_json(cmd: &mut Command) -> Value {
    let out = cmd.assert().success().get_output().stdout.clone();
    serde_json::from_slice(&out).expect("stdout is JSON")
}

#[test]
fn pmx_schema_prints_the_whole_registry_as_json() {
    let json = stdout_json(pmx().arg("schema"));
    let names = |key: &str| -> Vec<String> {
        json[key].as_array().expect(key).iter().map(|r| r["name"].as_str().unwrap_or_default().to_string()).collect()
    };
    assert_eq!(names("resources"), ["vm", "container", "pool"]);
    assert_eq!(names("data_sources"), ["node", "template", "storage"]);
    let password = &json["resources"][1]["attributes"]
        .as_array()
        .expect("attributes")
        .iter()
        .find(|a| a["name"] == "password")
        .expect("container.password")
        .clone();
    assert_eq!(password["sensitive"], true);
    assert_eq!(password["update"], "create_only");
}

#[test]
fn pmx_schema_prints_one_type() {
    let vm = stdout_json(pmx().args(["schema", "vm"]));
    assert_eq!(vm["name"], "vm");
    assert_eq!(vm["kind"], "resource");
    let disk = vm["blocks"].as_array().expect("blocks").iter().find(|b| b["name"] == "disk").expect("disk").clone();
    assert_eq!(disk["nesting"]["kind"], "slotted");
    let template = stdout_json(pmx().args(["schema", "data.template"]));
    assert_eq!((template["name"].as_str(), template["kind"].as_str()), (Some("template"), Some("data")));
}

#[test]
fn pmx_schema_markdown_is_the_docs_page() {
    let out = pmx().args(["schema", "--markdown", "container"]).assert().success().get_output().stdout.clone();
    let page = docs::markdown(registry().resource("container").expect("container"));
    assert_eq!(String::from_utf8_lossy(&out), page);
    assert!(page.contains("## Block `mountpoint \"mp0\"`"), "{page}");
}

#[test]
fn pmx_schema_unknown_name_suggests_the_closest() {
    let out = pmx().args(["schema", "contaner"]).assert().failure().get_output().clone();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no resource type or data source named `contaner`"), "{stderr}");
    assert!(stderr.contains("did you mean \"container\"?"), "{stderr}");

    let out = pmx().args(["schema", "template"]).assert().failure().get_output().clone();
    assert!(String::from_utf8_lossy(&out.stderr).contains("did you mean \"data.template\"?"));
}

#[test]
fn pmx_schema_unknown_name_with_json_prints_a_json_error() {
    let out = pmx().args(["--json", "schema", "nope"]).assert().failure().get_output().stdout.clone();
    let json: Value = serde_json::from_slice(&out).expect("JSON on stdout");
    assert!(json["error"].as_str().is_some_and(|e| e.contains("`nope`")), "{json}");
}

#[test]
fn every_type_is_documented_with_every_attribute() {
    for rt in registry().resources.iter().chain(&registry().data_sources) {
        let page = docs::markdown(rt);
        for a in &rt.attributes {
            assert!(page.contains(&format!("`{}`", a.name)), "{} page lacks {}", rt.name, a.name);
        }
        if rt.kind == SchemaKind::Resource {
            assert!(page.contains("## How changes land"));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The examples speak the schema: every resource and data block in examples/ uses only known
// attributes and blocks, slot labels that fit, and literal values within the allowed ones.
// (`tests/examples.rs` runs the real `pmx validate` on them as well.)

const META: &[&str] = &["count", "for_each", "depends_on", "provider", "lifecycle"];

fn pmx_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![];
    for entry in std::fs::read_dir(dir).expect("read examples").flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(pmx_files(&path));
        } else if path.extension().is_some_and(|e| e == "pmx") {
            out.push(path);
        }
    }
    out.sort();
    out
}

fn check_literal(what: &str, a: &Attribute, expr: &hcl::Expression, problems: &mut Vec<String>) {
    use hcl::Expression as E;
    match expr {
        E::String(s) => {
            if let Some(values) = &a.one_of {
                if !values.contains(&s.as_str()) {
                    problems.push(format!("{what}: {s:?} is not one of {values:?}"));
                }
            }
            if let Some(p) = a.pattern {
                if !regex::Regex::new(p).expect("pattern compiles").is_match(s) {
                    problems.push(format!("{what}: {s:?} does not match {p}"));
                }
            }
            if !matches!(a.ty, ValueType::String | ValueType::Any) {
                problems.push(format!("{what}: a string where a {} is expected", a.ty));
            }
        }
        E::Number(n) => {
            let n = n.as_f64().unwrap_or(f64::NAN);
            if let Some((min, max)) = a.range {
                if !(min..=max).contains(&n) {
                    problems.push(format!("{what}: {n} is outside {min}..{max}"));
                }
            }
            if a.ty != ValueType::Number {
                problems.push(format!("{what}: a number where a {} is expected", a.ty));
            }
        }
        E::Bool(_) if a.ty != ValueType::Bool => problems.push(format!("{what}: a bool where a {} is expected", a.ty)),
        E::Array(items) => match &a.ty {
            ValueType::List(_) | ValueType::Set(_) => {
                let element = Attribute { ty: ValueType::String, ..a.clone() };
                for item in items {
                    check_literal(what, &element, item, problems);
                }
            }
            other => problems.push(format!("{what}: a list where a {other} is expected")),
        },
        _ => {} // references and templates: known only when evaluated
    }
}

fn check_example_body(
    what: &str,
    body: &hcl::Body,
    attributes: &[Attribute],
    blocks: &[BlockType],
    top: bool,
    problems: &mut Vec<String>,
) {
    for attr in body.attributes() {
        let key = attr.key.as_str();
        match attributes.iter().find(|a| a.name == key) {
            Some(a) if a.presence == pmx::schema::Presence::Computed => {
                problems.push(format!("{what}.{key}: computed, cannot be set"))
            }
            Some(a) => check_literal(&format!("{what}.{key}"), a, &attr.expr, problems),
            None if top && META.contains(&key) => {}
            None => problems.push(format!("{what}: unknown attribute {key}")),
        }
    }
    for a in attributes.iter().filter(|a| a.presence == pmx::schema::Presence::Required) {
        if !body.attributes().any(|x| x.key.as_str() == a.name) {
            problems.push(format!("{what}: missing required {}", a.name));
        }
    }
    for b in blocks.iter().filter(|b| b.required) {
        if !body.blocks().any(|x| x.identifier.as_str() == b.name) {
            problems.push(format!("{what}: missing required block {}", b.name));
        }
    }
    for block in body.blocks() {
        let name = block.identifier.as_str();
        if top && name == "lifecycle" {
            continue;
        }
        let Some(schema) = blocks.iter().find(|b| b.name == name) else {
            problems.push(format!("{what}: unknown block {name}"));
            continue;
        };
        let label = block.labels.first().map(|l| l.as_str().to_string());
        match (&schema.nesting, &label) {
            (Nesting::Slotted { slot_pattern, .. }, Some(l)) => {
                if !regex::Regex::new(slot_pattern).expect("compiles").is_match(l) {
                    problems.push(format!("{what}: {name} {l:?} is not a valid slot"));
                }
            }
            (Nesting::Slotted { .. }, None) => problems.push(format!("{what}: {name} needs a slot label")),
            (Nesting::Single, Some(l)) => problems.push(format!("{what}: {name} takes no label, got {l:?}")),
            (Nesting::Single, None) => {}
        }
        let inner = format!("{what}.{name}{}", label.map(|l| format!("[{l}]")).unwrap_or_default());
        check_example_body(&inner, &block.body, &schema.attributes, &schema.blocks, false, problems);
    }
}

/// hcl-rs bodies, seen by the schema's constraint checker.
struct HclBody<'a>(&'a hcl::Body);

impl pmx::schema::ConfigBody for HclBody<'_> {
    fn has(&self, attribute: &str) -> bool {
        self.0.attributes().any(|a| a.key.as_str() == attribute)
    }
    fn each_block(&self, name: &str, f: &mut dyn FnMut(Option<&str>, &dyn pmx::schema::ConfigBody)) {
        for block in self.0.blocks().filter(|b| b.identifier.as_str() == name) {
            f(block.labels.first().map(|l| l.as_str()), &HclBody(&block.body));
        }
    }
}

#[test]
fn examples_use_only_what_the_schema_knows() {
    let files = pmx_files(&repo_root().join("examples"));
    assert!(files.len() >= 4, "expected the example projects, found {files:?}");
    let mut problems = vec![];
    let mut resources = 0;
    for file in &files {
        let text = std::fs::read_to_string(file).expect("read example");
        let body: hcl::Body = match hcl::from_str(&text) {
            Ok(b) => b,
            Err(e) => {
                problems.push(format!("{}: {e}", file.display()));
                continue;
            }
        };
        for block in body.blocks() {
            let kind = block.identifier.as_str();
            let (Some(ty), Some(name)) = (block.labels.first(), block.labels.get(1)) else { continue };
            let qualified = match kind {
                "resource" => ty.as_str().to_string(),
                "data" => format!("data.{}", ty.as_str()),
                _ => continue,
            };
            let what = format!("{}: {qualified}.{}", file.display(), name.as_str());
            let Some(rt) = registry().lookup(&qualified) else {
                problems.push(format!("{what}: no such type"));
                continue;
            };
            resources += 1;
            check_example_body(&what, &block.body, &rt.attributes, &rt.blocks, true, &mut problems);
            for v in rt.check_constraints(&HclBody(&block.body)) {
                problems.push(format!("{what}: {}", v.message));
            }
        }
    }
    assert!(resources >= 10, "only {resources} resource and data blocks in the examples");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn docs_examples_use_only_what_the_schema_knows() {
    let mut problems = vec![];
    for rt in registry().resources.iter().chain(&registry().data_sources) {
        let body: hcl::Body = hcl::from_str(rt.example).unwrap_or_else(|e| panic!("{}: {e}", rt.name));
        for block in body.blocks() {
            let (Some(ty), Some(name)) = (block.labels.first(), block.labels.get(1)) else { continue };
            let qualified = match block.identifier.as_str() {
                "resource" => ty.as_str().to_string(),
                "data" => format!("data.{}", ty.as_str()),
                _ => continue,
            };
            let what = format!("example of {}: {qualified}.{}", rt.qualified_name(), name.as_str());
            let Some(schema) = registry().lookup(&qualified) else {
                problems.push(format!("{what}: no such type"));
                continue;
            };
            check_example_body(&what, &block.body, &schema.attributes, &schema.blocks, true, &mut problems);
            for v in schema.check_constraints(&HclBody(&block.body)) {
                problems.push(format!("{what}: {}", v.message));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_example_checker_catches_mistakes() {
    let vm = registry().resource("vm").expect("vm");
    let bad = r#"
        node = "pve1"
        colour = "red"
        bios = "uefi"
        disk "scsi99" {
          size = "10Q"
        }
        cpu "x" {
          cores = 0
        }
    "#;
    let body: hcl::Body = hcl::from_str(bad).expect("parses");
    let mut problems = vec![];
    check_example_body("vm.bad", &body, &vm.attributes, &vm.blocks, true, &mut problems);
    let all = problems.join("\n");
    for expected in [
        "unknown attribute colour",
        "\"uefi\" is not one of",
        "\"scsi99\" is not a valid slot",
        "\"10Q\"",
        "takes no label",
        "0 is outside",
    ] {
        assert!(all.contains(expected), "missing {expected:?} in:\n{all}");
    }
}

#[test]
fn constraints_apply_to_hcl_bodies() {
    let template = registry().lookup("data.template").expect("data.template");
    let both: hcl::Body = hcl::from_str("name = \"debian-12-cloud\"\nvmid = 9000\n").expect("parses");
    assert_eq!(template.check_constraints(&HclBody(&both)).len(), 1);
    let vm = registry().resource("vm").expect("vm");
    let ssd_on_virtio: hcl::Body =
        hcl::from_str("disk \"virtio0\" {\n  size = \"8G\"\n  ssd = true\n}\n").expect("parses");
    let problems = vm.check_constraints(&HclBody(&ssd_on_virtio));
    assert!(
        problems.iter().any(|v| v.message.contains("\"ssd\" is not supported on disk \"virtio0\"")),
        "{problems:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// The built-in simulator accepts what the schema maps to, so that apply can send it.

fn sim_params(keys: &[&str]) -> Map<String, Value> {
    let mut all = Map::new();
    for key in keys {
        let (method, path) = key.split_once(' ').expect("METHOD path");
        let route = pmx::sim::routes()
            .iter()
            .find(|r| r.method == method && r.path == path)
            .unwrap_or_else(|| panic!("the simulator does not serve {key}"));
        for p in route.params {
            all.insert(p.to_string(), Value::Null);
        }
        // Path parameters (`{vmid}` of the clone source) are accepted too.
        for segment in path.split('/') {
            if let Some(name) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                all.insert(name.to_string(), Value::Null);
            }
        }
    }
    all
}

#[test]
fn the_simulator_accepts_every_parameter_the_schema_maps_to() {
    let mut missing = vec![];
    for rt in &registry().resources {
        let mut check = |path: String, a: &Attribute, block: Option<&BlockType>, params: &Map<String, Value>| {
            let Some(pve) = a.pve_param else { return };
            let base = pve.split('.').next().unwrap_or(pve);
            let bases: Vec<&str> = match (base, block.and_then(|b| b.pve_param)) {
                ("{slot}", Some(alts)) => alts.split('|').collect(),
                _ => vec![base],
            };
            for b in bases {
                if find_param(params, b).is_none() {
                    missing.push(format!("{path}: `{b}`"));
                }
            }
        };
        let params = sim_params(&endpoints_of(rt, None));
        for a in &rt.attributes {
            check(format!("{}.{}", rt.name, a.name), a, None, &params);
        }
        for b in &rt.blocks {
            let params = sim_params(&endpoints_of(rt, Some(b.name)));
            for a in &b.attributes {
                check(format!("{}.{}.{}", rt.name, b.name, a.name), a, Some(b), &params);
            }
        }
    }
    assert!(missing.is_empty(), "the simulator does not accept:\n  {}", missing.join("\n  "));
}

#[test]
fn the_simulator_serves_every_call_the_schema_names() {
    let mut calls = BTreeSet::new();
    for rt in &registry().resources {
        calls.extend(rt.attributes.iter().filter_map(|a| a.changed_by.map(|c| c.endpoint)));
        for b in &rt.blocks {
            calls.extend(b.attributes.iter().filter_map(|a| a.changed_by.map(|c| c.endpoint)));
        }
    }
    let served: BTreeSet<String> = pmx::sim::routes().iter().map(|r| format!("{} {}", r.method, r.path)).collect();
    let missing: Vec<_> = calls.iter().filter(|c| !served.contains(**c)).collect();
    assert!(missing.is_empty(), "the simulator does not serve: {missing:?}");
}

#[test]
fn pmx_schema_prints_one_block() {
    let disk = stdout_json(pmx().args(["schema", "vm.disk"]));
    assert_eq!(disk["name"], "disk");
    assert_eq!(disk["pve_param"], "scsi[n]|virtio[n]|sata[n]|ide[n]");
    let out = pmx().args(["schema", "--markdown", "container.rootfs"]).assert().success().get_output().stdout.clone();
    assert!(String::from_utf8_lossy(&out).starts_with("# Block `rootfs`"), "{}", String::from_utf8_lossy(&out));
    let out = pmx().args(["schema", "vm.dsk"]).assert().failure().get_output().stderr.clone();
    let stderr = String::from_utf8_lossy(&out);
    assert!(
        stderr.contains("`vm` has no block named `dsk`") && stderr.contains("did you mean \"vm.disk\"?"),
        "{stderr}"
    );
}
