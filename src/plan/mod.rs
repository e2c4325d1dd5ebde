//! `pmx plan`: refresh the live cluster, diff desired against live and stored, and record what
//! apply must do. Two halves, as in refresh:
//! - [`read`] is the networked part (one cluster view per provider);
//! - [`decide`] is pure: project + stored state + views → [`Plan`], or every problem at once.

pub mod diff;
pub mod file;
pub mod model;
pub mod read;
pub mod values;

use std::collections::{BTreeMap, HashMap, HashSet};

use indexmap::IndexMap;
use serde_json::{json, Map, Value as Json};

use crate::addr::{Mode, ResourceAddress};
use crate::codec::{self, LiveGuest};
use crate::config::Value;
use crate::diag::{Diagnostic, Diagnostics};
use crate::graph::{BuildOptions, Instance};
use crate::operation::{Endpoint, Project};
use crate::proxmox::models::ResourceKind as PveKind;
use crate::schema::{registry, ResourceType};
use crate::state::{Meta, ResourceKind, StoredResource};

pub use model::*;
pub use read::ClusterView;

/// The key of pmx's own bookkeeping inside a stored resource's attributes.
pub const PMX_META: &str = "_pmx";

/// What the user asked for.
#[derive(Debug, Clone)]
pub struct PlanRequest {
    pub mode: PlanMode,
    pub targets: Vec<ResourceAddress>,
    pub replace: Vec<ResourceAddress>,
    pub parallelism: usize,
    /// For `--rollback-to`: the attributes state recorded then, by address.
    pub rollback: Option<BTreeMap<String, Json>>,
    /// Run the pre-flight checks (`--no-preflight` turns them off).
    pub preflight: bool,
}

impl Default for PlanRequest {
    fn default() -> Self {
        PlanRequest {
            mode: PlanMode::Normal,
            targets: vec![],
            replace: vec![],
            parallelism: 10,
            rollback: None,
            preflight: true,
        }
    }
}

/// pmx's bookkeeping for a managed resource, kept in state beside its decoded attributes.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Bookkeeping {
    /// `proxmox` or `proxmox.ALIAS`.
    #[serde(default)]
    pub provider: String,
    /// `managed` (pmx created or imported it), `discovered` (seen by refresh only).
    #[serde(default)]
    pub origin: String,
    /// Paths the configuration set at the last apply.
    #[serde(default)]
    pub managed: Vec<String>,
    /// Keyed hashes of the write-only values pmx wrote, by path.
    #[serde(default)]
    pub secrets: Map<String, Json>,
    #[serde(default)]
    pub prevent_destroy: bool,
}

impl Bookkeeping {
    pub fn of(stored: &StoredResource) -> Bookkeeping {
        stored.attributes.get(PMX_META).and_then(|m| serde_json::from_value(m.clone()).ok()).unwrap_or_default()
    }

    /// Managed by pmx (created, imported or adopted by it), as opposed to seen by refresh only:
    /// only these are ever planned for destruction.
    pub fn is_managed(stored: &StoredResource) -> bool {
        stored.origin == crate::state::Origin::Managed && Bookkeeping::of(stored).origin == "managed"
    }
}

/// The schema of a stored kind.
pub fn schema_of(kind: ResourceKind) -> Option<&'static ResourceType> {
    match kind {
        ResourceKind::Vm => registry().resource("vm"),
        ResourceKind::Container => registry().resource("container"),
        ResourceKind::Pool => registry().resource("pool"),
        _ => None,
    }
}

pub fn kind_of(type_name: &str) -> Option<ResourceKind> {
    match type_name {
        "vm" => Some(ResourceKind::Vm),
        "container" => Some(ResourceKind::Container),
        "pool" => Some(ResourceKind::Pool),
        _ => None,
    }
}

/// Reads one view per provider: the guests pmx manages there are the configs it fetches.
pub async fn read(
    endpoints: &IndexMap<String, Endpoint>,
    stored: &[StoredResource],
    imports: &HashMap<String, Vec<u32>>,
    parallelism: usize,
) -> Result<HashMap<String, ClusterView>, (String, crate::proxmox::Error)> {
    let reads = endpoints.iter().map(|(key, ep)| {
        let mut vmids: Vec<u32> = stored
            .iter()
            .filter(|s| Bookkeeping::is_managed(s) && provider_of(s) == *key)
            .filter_map(|s| s.identity.vmid)
            .collect();
        vmids.extend(imports.get(key).into_iter().flatten());
        async move {
            let v = read::read_view(&ep.client, &vmids, parallelism).await.map_err(|e| (ep.url.clone(), e))?;
            Ok::<_, (String, crate::proxmox::Error)>((key.clone(), v))
        }
    });
    let views = futures::future::try_join_all(reads).await?;
    Ok(views.into_iter().collect())
}

/// The vmids `import` blocks name, by provider: their configs are read too.
pub fn import_vmids(project: &Project) -> HashMap<String, Vec<u32>> {
    let mut out: HashMap<String, Vec<u32>> = HashMap::new();
    for i in &project.graph.imports {
        let Some(id) = i.id.as_str() else { continue };
        let Some(vmid) = id.rsplit('/').next().and_then(|v| v.parse::<u32>().ok()) else { continue };
        let provider =
            project.graph.instances.get(&i.to).map(|x| x.provider.clone()).unwrap_or_else(|| "proxmox".into());
        out.entry(provider).or_default().push(vmid);
    }
    out
}

fn provider_of(s: &StoredResource) -> String {
    if let Some(c) = &s.cluster {
        return c.clone();
    }
    let p = Bookkeeping::of(s).provider;
    if p.is_empty() {
        "proxmox".into()
    } else {
        p
    }
}

/// What refresh found for a stored guest or pool.
enum Found {
    /// On the cluster, decoded, with its identity.
    Live { decoded: Map<String, Json>, live: LiveIdentity },
    /// Not on the cluster any more.
    Gone,
    /// The vmid now belongs to another guest.
    Reused { name: String },
}

fn find_live(rt: &ResourceType, stored: Option<&StoredResource>, id_hint: Option<&str>, view: &ClusterView) -> Found {
    if rt.name == "pool" {
        let id = id_hint
            .map(str::to_string)
            .or_else(|| stored.and_then(|s| s.attributes.get("id")?.as_str().map(str::to_string)));
        return match id.and_then(|id| view.pool(&id)) {
            Some(p) => {
                let mut m = Map::new();
                m.insert("id".into(), Json::String(p.poolid.clone()));
                if let Some(c) = p.comment.as_ref().filter(|c| !c.is_empty()) {
                    m.insert("comment".into(), Json::String(c.clone()));
                }
                Found::Live { decoded: m, live: LiveIdentity::default() }
            }
            None => Found::Gone,
        };
    }
    let Some(vmid) = stored.and_then(|s| s.identity.vmid) else { return Found::Gone };
    let want_kind = if rt.name == "container" { PveKind::Lxc } else { PveKind::Qemu };
    let Some(r) = view.guest(vmid).filter(|r| r.kind == want_kind) else { return Found::Gone };
    let Some(config) = view.configs.get(&vmid) else { return Found::Gone };
    let fingerprint = fingerprint_of(config);
    if let (Some(was), Some(now)) = (stored.and_then(|s| s.identity.fingerprint.as_deref()), fingerprint.as_deref()) {
        if was != now {
            return Found::Reused { name: r.name.clone().unwrap_or_else(|| format!("vmid {vmid}")) };
        }
    }
    let guest = LiveGuest {
        node: r.node.clone().unwrap_or_default(),
        vmid,
        pool: r.pool.clone(),
        running: r.status.as_deref() == Some("running"),
        template: r.template.unwrap_or(false),
        config: config.clone(),
    };
    let cached = view.decoded.lock().ok().and_then(|d| d.get(&(rt.name, vmid)).cloned());
    let decoded = match cached {
        Some(d) => d,
        None => {
            let d = codec::decode(rt, &guest);
            if let Ok(mut cache) = view.decoded.lock() {
                cache.insert((rt.name, vmid), d.clone());
            }
            d
        }
    };
    let live = LiveIdentity {
        node: Some(guest.node.clone()),
        vmid: Some(vmid),
        fingerprint,
        digest: config.get("digest").and_then(Json::as_str).map(str::to_string),
        running: guest.running,
    };
    Found::Live { decoded, live }
}

/// The SMBIOS uuid PVE gives every new VM: it tells the guest pmx created from another one
/// that later got the same vmid. Containers have none.
pub fn fingerprint_of(config: &Map<String, Json>) -> Option<String> {
    config
        .get("smbios1")
        .and_then(Json::as_str)
        .and_then(|s| s.split(',').find_map(|kv| kv.strip_prefix("uuid=")))
        .map(str::to_string)
}

/// Decides the plan. Every problem comes back at once.
pub fn decide(
    project: &Project,
    stored: &[StoredResource],
    views: &HashMap<String, ClusterView>,
    meta: &Meta,
    key: &[u8],
    req: &PlanRequest,
) -> Result<Plan, Diagnostics> {
    let empty_view = ClusterView::default();
    let view_of = |provider: &str| views.get(provider).unwrap_or(&empty_view);

    // Moves: where a configured address finds its stored resource.
    let moved_from: HashMap<String, String> =
        project.loaded.module.moved.iter().map(|m| (m.to.to_string(), m.from.to_string())).collect();
    let by_address: HashMap<String, &StoredResource> = stored.iter().map(|s| (s.address.to_string(), s)).collect();
    let stored_for = |addr: &str| -> Option<(&StoredResource, Option<&str>)> {
        if let Some(s) = by_address.get(addr) {
            return Some((s, None));
        }
        let from = moved_from.get(addr)?;
        by_address.get(from.as_str()).map(|s| (*s, Some(from.as_str())))
    };
    let imports: HashMap<String, String> =
        project.graph.imports.iter().filter_map(|i| Some((i.to.to_string(), i.id.as_str()?.to_string()))).collect();

    let known = known_values(project, stored, views)?;
    let graph = project.rebuild(&BuildOptions { known })?;

    // 2. Which instances the plan covers.
    let selected: Option<HashSet<String>> = (!req.targets.is_empty()).then(|| with_dependencies(&graph, &req.targets));

    let mut plan = Plan {
        pmx_version: env!("CARGO_PKG_VERSION").to_string(),
        mode: req.mode,
        workspace: meta.workspace.clone(),
        lineage: meta.lineage.clone(),
        serial: meta.serial,
        config_hash: project.config_hash(key),
        created_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        resource_changes: vec![],
        resource_drift: vec![],
        output_changes: vec![],
        problems: vec![],
        preflight: vec![],
        preflight_skipped: false,
        targets: req.targets.iter().map(ToString::to_string).collect(),
        endpoints: BTreeMap::new(),
    };

    if let Some(then) = &req.rollback {
        rollback(&mut plan, stored, then, &view_of, key, req);
        return Ok(plan);
    }

    let mut claimed: HashSet<String> = HashSet::new();
    for inst in graph.instances.values() {
        let addr = inst.addr.to_string();
        if selected.as_ref().is_some_and(|s| !s.contains(&addr)) {
            continue;
        }
        let view = view_of(&inst.provider);
        if inst.addr.config.mode == Mode::Data {
            plan.resource_changes.push(read_change(inst, key));
            continue;
        }
        let Some(rt) = registry().resource(&inst.addr.config.type_name) else { continue };
        let prior = stored_for(&addr);
        if let Some((s, _)) = prior {
            claimed.insert(s.address.to_string());
            if let Some(d) = drift_of(rt, s, view) {
                plan.resource_drift.push(d);
            }
        }
        let change = plan_instance(&PlanInstance {
            addr: &inst.addr,
            provider: &inst.provider,
            attributes: &inst.attributes,
            lifecycle: &inst.lifecycle,
            depends_on: &inst.depends_on,
            rt,
            prior,
            import_id: imports.get(&addr).cloned(),
            view,
            key,
            req,
        });
        match change {
            Ok(c) => {
                if req.mode == PlanMode::RefreshOnly {
                    continue;
                }
                plan.resource_changes.push(c);
            }
            Err(p) => plan.problems.push(p),
        }
    }

    // 3. Managed resources that left the configuration (or all of them, for --destroy).
    for s in stored {
        let addr = s.address.to_string();
        let destroy_all = req.mode == PlanMode::Destroy;
        if !Bookkeeping::is_managed(s) || (claimed.contains(&addr) && !destroy_all) {
            continue;
        }
        if selected.as_ref().is_some_and(|sel| !sel.contains(&addr)) {
            continue;
        }
        let Some(rt) = schema_of(s.kind) else { continue };
        // `removed { from = ...  lifecycle { destroy = false } }`: leave it on the cluster.
        let kept = project.loaded.module.removed.iter().any(|r| {
            !r.destroy
                && (r.from == s.address
                    || (r.from.key == crate::addr::InstanceKey::None && r.from.config == s.address.config))
        });
        if kept && !destroy_all {
            plan.resource_changes.push(ResourceChange {
                notes: vec![
                    "a removed block with destroy = false: pmx stops managing it and leaves it on the cluster".into()
                ],
                action_reason: Some("forget_because_removed".into()),
                ..forget_change(s, &provider_of(s))
            });
            continue;
        }
        let view = view_of(&provider_of(s));
        let book = Bookkeeping::of(s);
        let found = find_live(rt, Some(s), None, view);
        let (before, live) = match &found {
            Found::Live { decoded, live, .. } => (Some(Json::Object(decoded.clone())), live.clone()),
            _ => (None, LiveIdentity::default()),
        };
        if matches!(found, Found::Gone | Found::Reused { .. }) {
            // Already gone: only state has to forget it.
            plan.resource_changes.push(ResourceChange {
                notes: vec!["already gone from the cluster; only state forgets it".into()],
                ..forget_change(s, &provider_of(s))
            });
            continue;
        }
        let prevent = book.prevent_destroy
            || (destroy_all && graph.instances.get(&s.address).is_some_and(|i| i.lifecycle.prevent_destroy));
        if prevent {
            plan.problems.push(PlanProblem {
                address: addr.clone(),
                message: format!("{addr} has lifecycle.prevent_destroy set and this plan would destroy it"),
                help: Some("remove prevent_destroy first, or keep the resource in the configuration".into()),
            });
            continue;
        }
        let reason = if destroy_all { "delete_because_destroy_requested" } else { "delete_because_no_resource_config" };
        plan.resource_changes.push(ResourceChange {
            address: addr,
            previous_address: None,
            mode: "managed".into(),
            type_name: rt.name.to_string(),
            provider: provider_of(s),
            action: Action::Delete,
            create_before_destroy: false,
            action_reason: Some(reason.into()),
            import_id: None,
            before_sensitive: json!({}),
            before,
            after: None,
            after_unknown: json!({}),
            after_sensitive: json!({}),
            replace_paths: vec![],
            changes: vec![],
            impact: if rt.name == "pool" { Impact::None } else { Impact::Destroy },
            destroys_data: rt.name != "pool",
            live,
            depends_on: vec![],
            notes: vec![],
            managed_paths: vec![],
            preflight_ignore: vec![],
            max_disruptions: None,
        });
    }

    if req.mode == PlanMode::Destroy {
        plan.resource_changes.retain(|c| c.action == Action::Delete || c.action == Action::Forget);
    }

    // 4. Outputs: shown when their value is known only after apply or changes with the plan.
    for (name, out) in &graph.outputs {
        let (after, unknown, _) = values::split(&out.value, key);
        let unknown = values::any_marked(&unknown, &[]);
        if unknown && req.mode == PlanMode::Normal {
            plan.output_changes.push(OutputChange {
                name: name.clone(),
                action: Action::Create,
                before: None,
                after: if out.sensitive { None } else { Some(after) },
                after_unknown: true,
                sensitive: out.sensitive,
            });
        }
    }
    Ok(plan)
}

/// What is known before apply: data sources read from the cluster, and the attributes of
/// resources that exist (from refresh). Feeding them to the graph resolves references such as
/// `data.template.debian.vmid` or `vm.web.vmid`.
pub fn known_values(
    project: &Project,
    stored: &[StoredResource],
    views: &HashMap<String, ClusterView>,
) -> Result<HashMap<ResourceAddress, IndexMap<String, Value>>, Diagnostics> {
    let mut diags = Diagnostics::new();
    let empty_view = ClusterView::default();
    let view_of = |provider: &str| views.get(provider).unwrap_or(&empty_view);
    let moved_from: HashMap<String, String> =
        project.loaded.module.moved.iter().map(|m| (m.to.to_string(), m.from.to_string())).collect();
    let by_address: HashMap<String, &StoredResource> = stored.iter().map(|s| (s.address.to_string(), s)).collect();
    let stored_for = |addr: &str| -> Option<&StoredResource> {
        by_address.get(addr).copied().or_else(|| by_address.get(moved_from.get(addr)?.as_str()).copied())
    };
    let imports: HashMap<String, String> =
        project.graph.imports.iter().filter_map(|i| Some((i.to.to_string(), i.id.as_str()?.to_string()))).collect();
    let mut known: HashMap<ResourceAddress, IndexMap<String, Value>> = HashMap::new();
    for inst in project.graph.instances.values() {
        let view = view_of(&inst.provider);
        match inst.addr.config.mode {
            Mode::Data => {
                match read::read_data(&inst.addr.config.type_name, &inst.attributes, view) {
                    Ok(values) => {
                        known.insert(inst.addr.clone(), values);
                    }
                    Err(message) => diags.push(
                        Diagnostic::error(format!("{}: {message}", inst.addr))
                            .with_code("pmx::plan::data_not_found")
                            .at(&inst.location.file, inst.location.span.clone(), "this data source finds nothing"),
                    ),
                }
            }
            Mode::Managed => {
                let Some(rt) = registry().resource(&inst.addr.config.type_name) else { continue };
                let addr = inst.addr.to_string();
                let import_id = imports.get(&addr).cloned();
                let found = match (stored_for(&addr), &import_id) {
                    (Some(s), _) => find_live(rt, Some(s), None, view),
                    (None, Some(id)) => find_import(rt, id, view),
                    (None, None) => continue,
                };
                if let Found::Live { decoded, .. } = found {
                    let mut values: IndexMap<String, Value> =
                        decoded.iter().map(|(k, v)| (k.clone(), Value::from_json(v))).collect();
                    values.insert("id".into(), Value::String(resource_id(rt, &decoded)));
                    known.insert(inst.addr.clone(), values);
                }
            }
        }
    }
    if diags.has_errors() {
        return Err(diags);
    }
    Ok(known)
}

/// `--rollback-to`: the managed resources as state recorded them then are the desired ones;
/// those created since are destroyed.
fn rollback<'v>(
    plan: &mut Plan,
    stored: &[StoredResource],
    then: &BTreeMap<String, Json>,
    view_of: &dyn Fn(&str) -> &'v ClusterView,
    key: &[u8],
    req: &PlanRequest,
) {
    let lifecycle = crate::config::model::Lifecycle::default();
    for s in stored.iter().filter(|s| Bookkeeping::is_managed(s)) {
        let Some(rt) = schema_of(s.kind) else { continue };
        let provider = provider_of(s);
        let view = view_of(&provider);
        let addr = s.address.to_string();
        match then.get(&addr) {
            Some(recorded) => {
                let mut desired: IndexMap<String, Value> = recorded
                    .as_object()
                    .into_iter()
                    .flatten()
                    .filter(|(k, _)| k.as_str() != PMX_META && k.as_str() != "template")
                    .map(|(k, v)| (k.clone(), Value::from_json(v)))
                    .collect();
                // The vmid stays: a rollback never replaces a guest for its id.
                desired.shift_remove("vmid");
                let change = plan_instance(&PlanInstance {
                    addr: &s.address,
                    provider: &provider,
                    attributes: &desired,
                    lifecycle: &lifecycle,
                    depends_on: &[],
                    rt,
                    prior: Some((s, None)),
                    import_id: None,
                    view,
                    key,
                    req,
                });
                match change {
                    Ok(c) => plan.resource_changes.push(c),
                    Err(p) => plan.problems.push(p),
                }
            }
            None => {
                let found = find_live(rt, Some(s), None, view);
                let (before, live) = match found {
                    Found::Live { decoded, live } => (Some(Json::Object(decoded)), live),
                    _ => continue,
                };
                plan.resource_changes.push(ResourceChange {
                    address: addr,
                    previous_address: None,
                    mode: "managed".into(),
                    type_name: rt.name.to_string(),
                    provider,
                    action: Action::Delete,
                    create_before_destroy: false,
                    action_reason: Some("delete_because_rollback".into()),
                    import_id: None,
                    before,
                    after: None,
                    after_unknown: json!({}),
                    before_sensitive: json!({}),
                    after_sensitive: json!({}),
                    replace_paths: vec![],
                    changes: vec![],
                    impact: if rt.name == "pool" { Impact::None } else { Impact::Destroy },
                    destroys_data: rt.name != "pool",
                    live,
                    depends_on: vec![],
                    notes: vec!["created after the serial rolled back to".into()],
                    managed_paths: vec![],
                    preflight_ignore: vec![],
                    max_disruptions: None,
                });
            }
        }
    }
    for addr in then.keys() {
        if !stored.iter().any(|s| s.address.to_string() == *addr) {
            plan.problems.push(PlanProblem {
                address: addr.clone(),
                message: format!("{addr} was destroyed since; a rollback cannot bring its disks back"),
                help: Some("add it to the configuration again to create it anew".into()),
            });
        }
    }
}

/// What changed outside pmx since state last recorded the resource: the stored attributes
/// against the live ones, both decoded by the codec.
fn drift_of(rt: &ResourceType, stored: &StoredResource, view: &ClusterView) -> Option<Drift> {
    let addr = stored.address.to_string();
    match find_live(rt, Some(stored), None, view) {
        Found::Live { decoded, .. } => {
            let mut before = stored.attributes.as_object().cloned().unwrap_or_default();
            before.remove(PMX_META);
            let mut changes = Vec::new();
            json_paths_differ(&Json::Object(before), &Json::Object(decoded), &mut vec![], &mut changes);
            (!changes.is_empty()).then_some(Drift { address: addr, action: Action::Update, changes, notes: vec![] })
        }
        Found::Gone => Some(Drift {
            address: addr,
            action: Action::Delete,
            changes: vec![],
            notes: vec!["deleted outside pmx".into()],
        }),
        Found::Reused { name } => Some(Drift {
            address: addr,
            action: Action::Delete,
            changes: vec![],
            notes: vec![format!("its vmid now belongs to another guest (\"{name}\")")],
        }),
    }
}

fn json_paths_differ(a: &Json, b: &Json, path: &mut Vec<String>, out: &mut Vec<AttrChange>) {
    match (a, b) {
        (Json::Object(x), Json::Object(y)) if !path.is_empty() || !x.is_empty() => {
            let mut keys: Vec<&String> = x.keys().collect();
            keys.extend(y.keys().filter(|k| !x.contains_key(*k)));
            for k in keys {
                path.push(k.clone());
                json_paths_differ(x.get(k).unwrap_or(&Json::Null), y.get(k).unwrap_or(&Json::Null), path, out);
                path.pop();
            }
        }
        _ if a == b => {}
        _ => out.push(AttrChange {
            path: path.clone(),
            before: (!a.is_null()).then(|| a.clone()),
            after: (!b.is_null()).then(|| b.clone()),
            unknown: false,
            sensitive: false,
            via: Via::Config,
            impact: Impact::None,
            destroys_data: false,
            note: None,
        }),
    }
}

/// The id of an import block (`pve1/qemu/100`, `qemu/100`, `100`, or a pool's id) found on the cluster.
fn find_import(rt: &ResourceType, id: &str, view: &ClusterView) -> Found {
    if rt.name == "pool" {
        return find_live(rt, None, Some(id), view);
    }
    let vmid = id.rsplit('/').next().and_then(|v| v.parse::<u32>().ok());
    let Some(vmid) = vmid else { return Found::Gone };
    let fake = StoredResource {
        address: "vm.import".parse().expect("address"),
        kind: kind_of(rt.name).unwrap_or(ResourceKind::Vm),
        identity: crate::state::Identity { node: None, vmid: Some(vmid), fingerprint: None },
        digest: None,
        status: None,
        serial: 0,
        created_at: 0,
        updated_at: 0,
        attributes: json!({}),
        cluster: None,
        origin: Default::default(),
    };
    find_live(rt, Some(&fake), None, view)
}

/// `pool` → its id; a guest → `NODE/qemu/VMID`.
pub fn resource_id(rt: &ResourceType, decoded: &Map<String, Json>) -> String {
    match rt.name {
        "pool" => decoded.get("id").and_then(Json::as_str).unwrap_or_default().to_string(),
        other => {
            let kind = if other == "container" { "lxc" } else { "qemu" };
            let node = decoded.get("node").and_then(Json::as_str).unwrap_or_default();
            let vmid = decoded.get("vmid").map(|v| v.to_string()).unwrap_or_default();
            format!("{node}/{kind}/{vmid}")
        }
    }
}

/// The targets and everything they depend on.
fn with_dependencies(graph: &crate::graph::ResourceGraph, targets: &[ResourceAddress]) -> HashSet<String> {
    let mut out = HashSet::new();
    let mut todo: Vec<ResourceAddress> = Vec::new();
    for t in targets {
        // `vm.web` selects every instance of it.
        for a in graph.instances.keys() {
            if a == t || (t.key == crate::addr::InstanceKey::None && a.config == t.config) {
                todo.push(a.clone());
            }
        }
    }
    while let Some(a) = todo.pop() {
        if !out.insert(a.to_string()) {
            continue;
        }
        if let Some(i) = graph.instances.get(&a) {
            todo.extend(i.depends_on.iter().cloned());
        }
    }
    out
}

fn read_change(inst: &Instance, key: &[u8]) -> ResourceChange {
    let (after, unknown, sensitive) = values::split(&Value::Map(inst.attributes.clone()), key);
    ResourceChange {
        address: inst.addr.to_string(),
        previous_address: None,
        mode: "data".into(),
        type_name: inst.addr.config.type_name.clone(),
        provider: inst.provider.clone(),
        action: Action::Read,
        create_before_destroy: false,
        action_reason: None,
        import_id: None,
        before: None,
        after: Some(after),
        after_unknown: unknown,
        before_sensitive: json!({}),
        after_sensitive: sensitive,
        replace_paths: vec![],
        changes: vec![],
        impact: Impact::None,
        destroys_data: false,
        live: LiveIdentity::default(),
        depends_on: inst.depends_on.iter().map(ToString::to_string).collect(),
        notes: vec![],
        managed_paths: vec![],
        preflight_ignore: vec![],
        max_disruptions: None,
    }
}

fn forget_change(s: &StoredResource, provider: &str) -> ResourceChange {
    ResourceChange {
        address: s.address.to_string(),
        previous_address: None,
        mode: "managed".into(),
        type_name: schema_of(s.kind).map(|r| r.name).unwrap_or("vm").to_string(),
        provider: provider.to_string(),
        action: Action::Forget,
        create_before_destroy: false,
        action_reason: Some("forget_because_gone".into()),
        import_id: None,
        before: None,
        after: None,
        after_unknown: json!({}),
        before_sensitive: json!({}),
        after_sensitive: json!({}),
        replace_paths: vec![],
        changes: vec![],
        impact: Impact::None,
        destroys_data: false,
        live: LiveIdentity { node: s.identity.node.clone(), vmid: s.identity.vmid, ..LiveIdentity::default() },
        depends_on: vec![],
        notes: vec![],
        managed_paths: vec![],
        preflight_ignore: vec![],
        max_disruptions: None,
    }
}

struct PlanInstance<'a> {
    addr: &'a ResourceAddress,
    provider: &'a str,
    attributes: &'a IndexMap<String, Value>,
    lifecycle: &'a crate::config::model::Lifecycle,
    depends_on: &'a [ResourceAddress],
    rt: &'a ResourceType,
    prior: Option<(&'a StoredResource, Option<&'a str>)>,
    import_id: Option<String>,
    view: &'a ClusterView,
    key: &'a [u8],
    req: &'a PlanRequest,
}

/// Paths the configuration sets: top-level attributes, single-block attributes, whole slots.
pub fn managed_paths(desired: &Map<String, Json>) -> Vec<String> {
    let mut out = Vec::new();
    for (k, v) in desired {
        match v {
            Json::Object(m) if registry_block_is_slotted(k) => out.extend(m.keys().map(|s| format!("{k}.{s}"))),
            Json::Object(m) => out.extend(m.keys().map(|a| format!("{k}.{a}"))),
            _ => out.push(k.clone()),
        }
    }
    out.sort();
    out
}

fn registry_block_is_slotted(name: &str) -> bool {
    matches!(name, "disk" | "cdrom" | "network" | "serial" | "mountpoint")
}

fn plan_instance(p: &PlanInstance<'_>) -> Result<ResourceChange, PlanProblem> {
    let addr = p.addr.to_string();
    let (after, after_unknown, after_sensitive) = values::split(&Value::Map(p.attributes.clone()), p.key);
    let desired = after.as_object().cloned().unwrap_or_default();
    let mut notes = Vec::new();
    let found = match (p.prior, &p.import_id) {
        (Some((s, _)), _) => find_live(p.rt, Some(s), None, p.view),
        (None, Some(id)) => find_import(p.rt, id, p.view),
        (None, None) => Found::Gone,
    };
    let mut action;
    let mut reason = None;
    let mut change_list = Vec::new();
    let mut replace_paths = Vec::new();
    let mut live = LiveIdentity::default();
    let mut before = None;
    let book = p.prior.map(|(s, _)| Bookkeeping::of(s)).unwrap_or_default();
    match found {
        Found::Reused { name } => {
            let vmid = p.prior.and_then(|(s, _)| s.identity.vmid).unwrap_or_default();
            return Err(PlanProblem {
                address: addr.clone(),
                message: format!(
                    "vmid {vmid} of {addr} now belongs to another guest (\"{name}\"): the guest pmx created is gone and its vmid was reused"
                ),
                help: Some(format!(
                    "pmx will not adopt or overwrite it; run `pmx state rm {addr}` to plan a new guest, or import the other guest"
                )),
            });
        }
        Found::Gone => {
            action = Action::Create;
            if p.prior.is_some() {
                reason = Some("recreate_because_gone".to_string());
                notes.push("deleted outside pmx: it will be created again".to_string());
            }
            if let Some(id) = &p.import_id {
                return Err(PlanProblem {
                    address: addr,
                    message: format!("cannot import \"{id}\": no such {} on the cluster", p.rt.name),
                    help: Some(
                        "import ids look like pve1/qemu/100 (a VM), pve1/lxc/200 (a container) or the pool id".into(),
                    ),
                });
            }
            if let Some(problem) = create_conflict(p, &desired) {
                return Err(problem);
            }
        }
        Found::Live { decoded, live: l } => {
            live = l;
            before = Some(Json::Object(decoded.clone()));
            let outcome = diff::diff(&diff::DiffInput {
                rt: p.rt,
                desired: &desired,
                unknown: &after_unknown,
                sensitive: &after_sensitive,
                live: &decoded,
                prior_managed: &book.managed,
                prior_secrets: &book.secrets,
                running: live.running,
                lifecycle: p.lifecycle,
            });
            if let Some(problem) = outcome.problems.first() {
                return Err(PlanProblem { address: addr.clone(), message: problem.clone(), help: None });
            }
            replace_paths = outcome.replace_paths.clone();
            change_list = outcome.changes;
            action = if p.prior.is_none() {
                Action::Import
            } else if !replace_paths.is_empty() {
                reason = Some("replace_because_cannot_update".into());
                Action::Replace
            } else if !change_list.is_empty() {
                Action::Update
            } else if p.prior.is_some_and(|(_, from)| from.is_some()) {
                Action::Move
            } else {
                Action::NoOp
            };
            if p.req.replace.iter().any(|r| r == p.addr) {
                action = Action::Replace;
                reason = Some("replace_by_request".into());
            }
        }
    }
    let (impact, destroys_data) = match action {
        Action::Replace => (Impact::Replace, p.rt.name != "pool"),
        Action::Create | Action::NoOp | Action::Move | Action::Forget | Action::Read => (Impact::None, false),
        _ => (
            change_list.iter().map(|c| c.impact).max().unwrap_or(Impact::None),
            change_list.iter().any(|c| c.destroys_data),
        ),
    };
    if matches!(action, Action::Replace) && p.lifecycle.prevent_destroy {
        return Err(PlanProblem {
            address: addr.clone(),
            message: format!("{addr} has lifecycle.prevent_destroy set and this plan would replace it"),
            help: Some(format!(
                "the replacement is forced by {}",
                if replace_paths.is_empty() {
                    "--replace".to_string()
                } else {
                    replace_paths.iter().map(|p| p.join(".")).collect::<Vec<_>>().join(", ")
                }
            )),
        });
    }
    Ok(ResourceChange {
        address: addr,
        previous_address: p.prior.and_then(|(_, from)| from.map(str::to_string)),
        mode: "managed".into(),
        type_name: p.rt.name.to_string(),
        provider: p.provider.to_string(),
        action,
        create_before_destroy: p.lifecycle.create_before_destroy,
        action_reason: reason,
        import_id: p.import_id.clone(),
        before,
        after: Some(after),
        after_unknown,
        before_sensitive: json!({}),
        after_sensitive,
        replace_paths,
        changes: change_list,
        impact,
        destroys_data,
        live,
        depends_on: p.depends_on.iter().map(ToString::to_string).collect(),
        notes,
        managed_paths: managed_paths(&desired),
        preflight_ignore: vec![],
        max_disruptions: None,
    })
}

/// A create that Proxmox would refuse because the id is taken by something pmx does not manage.
fn create_conflict(p: &PlanInstance<'_>, desired: &Map<String, Json>) -> Option<PlanProblem> {
    let addr = p.addr.to_string();
    if p.rt.name == "pool" {
        let id = desired.get("id")?.as_str()?;
        p.view.pool(id)?;
        return Some(PlanProblem {
            address: addr.clone(),
            message: format!("pool \"{id}\" already exists on the cluster and pmx does not manage it"),
            help: Some(format!("adopt it with an import block: import {{ to = {addr}, id = \"{id}\" }}")),
        });
    }
    let vmid = desired.get("vmid")?.as_u64()? as u32;
    let r = p.view.guest(vmid)?;
    let node = r.node.clone().unwrap_or_default();
    let kind = if r.kind == PveKind::Lxc { "lxc" } else { "qemu" };
    Some(PlanProblem {
        address: addr.clone(),
        message: format!(
            "vmid {vmid} is already used by \"{}\" on {node}, which pmx does not manage",
            r.name.clone().unwrap_or_default()
        ),
        help: Some(format!("pick another vmid, or adopt it: import {{ to = {addr}, id = \"{node}/{kind}/{vmid}\" }}")),
    })
}
