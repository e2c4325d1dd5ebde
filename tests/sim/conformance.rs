//! Conformance with ../shared/pve-api: the schema (routes, methods, parameters) and the recorded
//! responses (shapes: keys and JSON types).

use super::support::*;

/// `../shared`, or None after saying so (a failure under CI=true).
fn shared_or_skip() -> Option<PathBuf> {
    let dir = shared_dir();
    if dir.is_none() {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "../shared not found (required under CI=true)");
        println!("skipped: ../shared not found");
    }
    dir
}

fn schema_index(shared: &std::path::Path) -> std::collections::HashMap<(String, String), Value> {
    let text = std::fs::read_to_string(shared.join("pve-api/pve-api-schema.json")).unwrap();
    let tree: Value = serde_json::from_str(&text).unwrap();
    let mut index = std::collections::HashMap::new();
    fn walk(node: &Value, index: &mut std::collections::HashMap<(String, String), Value>) {
        if let Some(info) = node["info"].as_object() {
            for (method, def) in info {
                index.insert((method.clone(), node["path"].as_str().unwrap_or("").to_string()), def.clone());
            }
        }
        for child in node["children"].as_array().into_iter().flatten() {
            walk(child, index);
        }
    }
    for node in tree.as_array().unwrap() {
        walk(node, &mut index);
    }
    index
}

#[test]
fn conformance_routes_and_parameters_exist_in_the_pve_schema() {
    let Some(shared) = shared_or_skip() else { return };
    let index = schema_index(&shared);
    let mut problems = Vec::new();
    for r in sim::routes() {
        let Some(def) = index.get(&(r.method.to_string(), r.path.to_string())) else {
            problems.push(format!("{} {} is not in the schema", r.method, r.path));
            continue;
        };
        let props = def["parameters"]["properties"].as_object().cloned().unwrap_or_default();
        for p in r.params {
            if !props.contains_key(*p) {
                problems.push(format!("{} {}: parameter {p} is not in the schema", r.method, r.path));
            }
        }
        for (name, prop) in &props {
            let optional = prop["optional"].as_i64() == Some(1) || prop["optional"] == json!(true);
            let in_path = r.path.contains(&format!("{{{name}}}"));
            if !optional && !in_path && !r.params.contains(&name.as_str()) {
                problems.push(format!("{} {}: required parameter {name} is not accepted", r.method, r.path));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(sim::routes().len() >= 50);
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Compares `ours` with a recorded value: same JSON types for shared keys; object keys of the
/// recording must be present unless listed in `optional`.
fn shape_diff(rec: &Value, ours: &Value, at: &str, optional: &[&str], out: &mut Vec<String>) {
    match (rec, ours) {
        (Value::Null, _) => {}
        (Value::Object(r), Value::Object(o)) => {
            for (k, rv) in r {
                match o.get(k) {
                    Some(ov) => shape_diff(rv, ov, &format!("{at}.{k}"), optional, out),
                    None if optional.contains(&k.as_str()) => {}
                    None => out.push(format!("{at}: missing key {k:?}")),
                }
            }
        }
        (Value::Array(r), Value::Array(o)) => {
            if o.is_empty() || r.is_empty() {
                if r.is_empty() != o.is_empty() {
                    out.push(format!("{at}: one array is empty ({} vs {})", r.len(), o.len()));
                }
                return;
            }
            // Rows of the same `type` are compared; keys every recorded row of a type has are required.
            let mut groups: std::collections::BTreeMap<String, Vec<&Value>> = Default::default();
            for row in r {
                groups.entry(row["type"].as_str().unwrap_or("").to_string()).or_default().push(row);
            }
            for (ty, rows) in groups {
                let mine =
                    if ty.is_empty() { o.first() } else { o.iter().find(|x| x["type"].as_str() == Some(ty.as_str())) };
                let Some(mine) = mine else {
                    if ty.is_empty() || !optional.contains(&ty.as_str()) {
                        out.push(format!("{at}: no row of type {ty:?}"));
                    }
                    continue;
                };
                let mut common = rows[0].clone();
                if let Some(obj) = common.as_object_mut() {
                    obj.retain(|k, _| rows.iter().all(|row| row.get(k).is_some()));
                }
                shape_diff(&common, mine, &format!("{at}[type={ty}]"), optional, out);
            }
        }
        (r, o) if json_kind(r) != json_kind(o) => {
            out.push(format!("{at}: recorded {} but got {} ({o})", json_kind(r), json_kind(o)));
        }
        _ => {}
    }
}

#[tokio::test]
async fn conformance_responses_have_the_recorded_shapes() {
    let Some(shared) = shared_or_skip() else { return };
    let fixture = |name: &str| -> Value {
        let text = std::fs::read_to_string(shared.join("pve-api/fixtures").join(name)).unwrap();
        serde_json::from_str(&text).unwrap()
    };
    let api = Api::start(SimOptions { task_duration: Duration::from_millis(300), ..opts() }).await;
    let mut problems = Vec::new();
    let mut check = |name: &str, ours: &Value, optional: &[&str]| {
        let rec = fixture(name);
        shape_diff(&rec, ours, name, optional, &mut problems);
    };
    // Writes return UPIDs (or null), and tasks have the recorded status shapes.
    let create = api
        .call(
            Method::POST,
            "/nodes/pve1/qemu",
            &[
                ("vmid", "100"),
                ("name", "a"),
                ("cores", "1"),
                ("net0", "virtio,bridge=vmbr0"),
                ("scsi0", "local-lvm:8"),
            ],
        )
        .await;
    check("qemu-create.POST.json", &create.body, &[]);
    let upid = create.body["data"].clone();
    let running = api.call(Method::GET, &format!("/nodes/pve1/tasks/{}/status", upid.as_str().unwrap()), &[]).await;
    check("task-status-running.GET.json", &running.body, &[]);
    assert_eq!(running.body["data"]["status"], "running");
    let stopped = api.wait(&upid).await;
    check("task-status-stopped-ok.GET.json", &json!({"data": stopped}), &[]);
    let ct = api
        .call(
            Method::POST,
            "/nodes/pve1/lxc",
            &[
                ("vmid", "200"),
                ("hostname", "c"),
                ("ostemplate", "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"),
                ("rootfs", "local-lvm:4"),
                ("net0", "name=eth0,bridge=vmbr0,ip=dhcp"),
                ("tags", "a;b"),
            ],
        )
        .await;
    check("lxc-create.POST.json", &ct.body, &[]);
    let warned = api.wait(&ct.body["data"]).await;
    check("task-status-stopped-warnings.GET.json", &json!({"data": warned}), &[]);
    let start = api.call(Method::POST, "/nodes/pve1/qemu/100/status/start", &[]).await;
    check("qemu-status-start.POST.json", &start.body, &[]);
    api.wait(&start.body["data"]).await;
    let ct_start = api.call(Method::POST, "/nodes/pve1/lxc/200/status/start", &[]).await;
    check("lxc-status-start.POST.json", &ct_start.body, &[]);
    api.wait(&ct_start.body["data"]).await;
    api.ok(Method::POST, "/pools", &[("poolid", "p"), ("comment", "c")]).await;
    api.ok(Method::PUT, "/pools", &[("poolid", "p"), ("vms", "100"), ("storage", "local")]).await;
    let put = api.call(Method::PUT, "/nodes/pve1/qemu/100/config", &[("tags", "x;y")]).await;
    check("put-returns-null.PUT.json", &put.body, &[]);

    // Reads.
    let get = |p: &'static str| {
        let api = &api;
        async move { api.call(Method::GET, p, &[]).await.body }
    };
    check("version.GET.json", &get("/version").await, &[]);
    check("nodes.GET.json", &get("/nodes").await, &[]);
    check("cluster-resources.GET.json", &get("/cluster/resources").await, &[]);
    check("cluster-resources-type-vm.GET.json", &get("/cluster/resources?type=vm").await, &["hastate"]);
    check("cluster-nextid.GET.json", &get("/cluster/nextid").await, &[]);
    check("cluster-nextid-error-400.GET.json", &get("/cluster/nextid?vmid=100").await, &[]);
    check("nodes-qemu-empty.GET.json", &get("/nodes/pve3/qemu").await, &[]);
    check("lxc-list.GET.json", &get("/nodes/pve1/lxc").await, &[]);
    check("lxc-config.GET.json", &get("/nodes/pve1/lxc/200/config").await, &["memory", "swap", "cores"]);
    let qcfg = get("/nodes/pve1/qemu/100/config").await;
    // The recorded config holds devices this VM lacks; types must agree for the keys it has.
    let rec = fixture("qemu-config.GET.json");
    let shared_keys: Vec<String> =
        rec["data"].as_object().unwrap().keys().filter(|k| qcfg["data"].get(k.as_str()).is_none()).cloned().collect();
    let shared_refs: Vec<&str> = shared_keys.iter().map(String::as_str).filter(|k| *k != "digest").collect();
    check("qemu-config.GET.json", &qcfg, &shared_refs);
    check(
        "qemu-status-current.GET.json",
        &get("/nodes/pve1/qemu/100/status/current").await,
        &[
            "shares",
            "spice",
            "blockstat",
            "balloon",
            "freemem",
            "ballooninfo",
            "balloon_min",
            "proxmox-support",
            "nics",
        ],
    );
    check("node-storage.GET.json", &get("/nodes/pve1/storage").await, &[]);
    check("storage.GET.json", &get("/storage").await, &[]);
    // pools.GET.json is a go-proxmox mock of a list with members; PVE's index (pve-manager
    // Pool.pm) lists members only for `?poolid=`, so that is the response with this shape.
    check("pools.GET.json", &get("/pools?poolid=p").await, &[]);
    check(
        "node-network.GET.json",
        &get("/nodes/pve1/network").await,
        &["vlan", "comments", "bridge_vids", "bridge_vlan_aware"],
    );
    check(
        "access-ticket.POST.json",
        &api.call(Method::POST, "/access/ticket", &[("username", "root@pam"), ("password", &api.sim.password)])
            .await
            .body,
        &[],
    );
    check("error-400-parameter-verification.json", &get("/cluster/nextid?vmid=abc").await, &["name"]);
    check("error-500-message.json", &get("/nodes/pve1/qemu/999/config").await, &[]);

    // Deletes.
    let stop = api.call(Method::POST, "/nodes/pve1/qemu/100/status/stop", &[]).await;
    check("qemu-status-stop.POST.json", &stop.body, &[]);
    api.wait(&stop.body["data"]).await;
    let del = api.call(Method::DELETE, "/nodes/pve1/qemu/100", &[]).await;
    check("qemu-destroy.DELETE.json", &del.body, &[]);
    let del = api.call(Method::DELETE, "/nodes/pve1/lxc/200", &[("force", "1")]).await;
    check("lxc-destroy.DELETE.json", &del.body, &[]);
    api.sim.shutdown().await;
    assert!(problems.is_empty(), "shape differences:\n{}", problems.join("\n"));
}

/// The simulator's property-string rules against the schema: every key it knows exists there with
/// the same type, enum, range, optionality and aliases, and every key the schema lists is known
/// (so only truly unknown keys are refused). Named formats whose keys the schema does not list
/// are compared with their `typetext`.
#[test]
fn conformance_property_string_keys_match_the_pve_schema() {
    let Some(shared) = shared_or_skip() else { return };
    let index = schema_index(&shared);
    let mut problems = Vec::new();
    let key_in_typetext = regex::Regex::new(r"([a-z][a-z0-9_-]*)=").unwrap();
    let rules = sim::property_string_rules();
    assert!(rules.len() >= 18, "rules for every property string: {}", rules.len());
    for (area, param, keys) in rules {
        let def = &index[&("POST".to_string(), format!("/nodes/{{node}}/{area}"))]["parameters"]["properties"][param];
        let at = format!("{area} {param}");
        match &def["format"] {
            Value::Object(schema_keys) => {
                for k in &keys {
                    let Some(sk) = schema_keys.get(k.name) else {
                        problems.push(format!("{at}: key {} is not in the schema", k.name));
                        continue;
                    };
                    if k.alias.is_some() || sk.get("alias").is_some() {
                        if sk["alias"].as_str() != k.alias || sk["keyAlias"].as_str() != k.key_alias {
                            problems
                                .push(format!("{at}.{}: alias {:?}/{:?} vs schema {sk}", k.name, k.alias, k.key_alias));
                        }
                        continue;
                    }
                    let ty = sk["type"].as_str().unwrap_or("string");
                    if ty != k.ty {
                        problems.push(format!("{at}.{}: type {} vs schema {ty}", k.name, k.ty));
                    }
                    let optional = sk["optional"].as_i64() == Some(1);
                    if optional != k.optional {
                        problems.push(format!("{at}.{}: optional {} vs schema {optional}", k.name, k.optional));
                    }
                    if (sk["default_key"].as_i64() == Some(1)) != k.default_key {
                        problems
                            .push(format!("{at}.{}: default_key {} differs from the schema", k.name, k.default_key));
                    }
                    let schema_enum: Option<Vec<&str>> =
                        sk["enum"].as_array().map(|e| e.iter().filter_map(Value::as_str).collect());
                    if schema_enum.as_deref() != k.one_of {
                        problems.push(format!("{at}.{}: enum {:?} vs schema {schema_enum:?}", k.name, k.one_of));
                    }
                    if sk["minimum"].as_i64() != k.minimum || sk["maximum"].as_i64() != k.maximum {
                        problems.push(format!(
                            "{at}.{}: range {:?}..{:?} vs schema {}..{}",
                            k.name, k.minimum, k.maximum, sk["minimum"], sk["maximum"]
                        ));
                    }
                }
                for name in schema_keys.keys() {
                    if !keys.iter().any(|k| k.name == name) {
                        problems.push(format!("{at}: schema key {name} is not known to the simulator"));
                    }
                }
            }
            Value::String(_) => {
                let typetext = def["typetext"].as_str().unwrap_or_default();
                let listed: std::collections::BTreeSet<&str> =
                    key_in_typetext.captures_iter(typetext).map(|c| c.get(1).unwrap().as_str()).collect();
                let ours: std::collections::BTreeSet<&str> = keys.iter().map(|k| k.name).collect();
                if listed != ours {
                    problems.push(format!("{at}: keys {ours:?} vs typetext {typetext:?}"));
                }
            }
            other => problems.push(format!("{at}: not a property string in the schema ({other})")),
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Every served route declares the `permissions` PVE's method definition has: the same `check`
/// tree, or `user => 'all'` / `'world'` (whose checks live in the handler).
#[test]
fn conformance_route_permissions_match_the_pve_schema() {
    let Some(shared) = shared_or_skip() else { return };
    let index = schema_index(&shared);
    let mut problems = Vec::new();
    for r in sim::routes() {
        let Some(def) = index.get(&(r.method.to_string(), r.path.to_string())) else { continue };
        let perms = &def["permissions"];
        let ours = match r.permission {
            sim::Permission::Check(c) => json!({"check": c.to_json()}),
            sim::Permission::All => json!({"user": "all"}),
            sim::Permission::World => json!({"user": "world"}),
        };
        let theirs = match (&perms["check"], &perms["user"]) {
            (Value::Array(_), _) => json!({"check": perms["check"]}),
            (_, Value::String(u)) => json!({"user": u}),
            _ => json!(null),
        };
        if ours != theirs {
            problems.push(format!("{} {}: ours {ours}, PVE {theirs}", r.method, r.path));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// `GET /access/permissions` answers with the schema's shape (an object of paths, each an object
/// of privilege → 0/1) and accepts exactly its parameters.
#[tokio::test]
async fn conformance_access_permissions_has_the_schema_shape() {
    let Some(shared) = shared_or_skip() else { return };
    let index = schema_index(&shared);
    let def = &index[&("GET".to_string(), "/access/permissions".to_string())];
    assert_eq!(def["returns"]["type"], "object");
    let api = api().await;
    let all = api.get("/access/permissions").await;
    let paths = all.as_object().expect("an object of paths");
    assert!(paths.contains_key("/") && paths.contains_key("/vms"), "{all}");
    for (path, privs) in paths {
        for (p, v) in privs.as_object().unwrap_or_else(|| panic!("{path}: {privs}")) {
            assert!(v == 1 || v == 0, "{path} {p}: {v}");
        }
    }
    let r = api.call(Method::GET, "/access/permissions", &[("userid", "not a user")]).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body["errors"]["userid"].is_string());
    api.sim.shutdown().await;
}
