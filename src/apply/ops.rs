//! The Proxmox calls of each kind of change, and what state records after it. Every write is
//! preceded by a durable intent; every task is waited for.

use serde_json::{json, Map, Value as Json};

use super::journal::Journal;
use super::{Ctx, Done};
use crate::codec::{self, LiveGuest};
use crate::plan::{self, Action, Bookkeeping, ResourceChange, Via, PMX_META};
use crate::proxmox::models::GuestKind;
use crate::proxmox::params::Params;
use crate::proxmox::{Error as PveError, PveClient};
use crate::schema::{registry, ResourceType};
use crate::state::{Change, ChangeType};

type OpResult<T> = Result<T, String>;

fn pve(what: &str, e: PveError) -> String {
    format!("{what}: {e}")
}

fn kind_of(rt: &ResourceType) -> GuestKind {
    if rt.name == "container" {
        GuestKind::Lxc
    } else {
        GuestKind::Qemu
    }
}

fn params_of(pairs: &[(String, String)]) -> Params {
    Params(pairs.to_vec())
}

fn str_of<'a>(m: &'a Map<String, Json>, k: &str) -> Option<&'a str> {
    m.get(k).and_then(Json::as_str)
}

/// Waits for a task, recording its UPID on the intent first.
async fn run_task(
    client: &PveClient,
    journal: &Journal,
    intent: &super::journal::IntentId,
    upid: crate::proxmox::tasks::Upid,
    what: &str,
) -> OpResult<()> {
    journal.started(intent, &upid.raw)?;
    let waited = std::time::Instant::now();
    let done = client.wait(&upid).await.map(|_| ()).map_err(|e| pve(what, e));
    super::RunMetrics::add(&super::METRICS.task_wait_ms, waited);
    done
}

/// Whether a task failed only because it could not take a config lock in time (PVE's
/// `can't lock file ... got timeout`): it did nothing, so starting it again is safe.
fn is_lock_timeout(e: &PveError) -> bool {
    match e {
        PveError::TaskFailed { exitstatus, .. } => {
            exitstatus.contains("can't lock file") && exitstatus.contains("got timeout")
        }
        other => other.api().is_some_and(|a| a.is_lock_timeout()),
    }
}

/// Starts a task with `start` and waits for it; a task that failed on a config lock is started
/// again with backoff (up to 8 times), so a busy cluster slows an apply down instead of failing it.
async fn retrying<F, Fut>(
    client: &PveClient,
    journal: &Journal,
    intent: &super::journal::IntentId,
    what: &str,
    start: F,
) -> OpResult<()>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<crate::proxmox::tasks::Upid, PveError>>,
{
    let mut attempt = 0u32;
    loop {
        let outcome = match start().await {
            Ok(upid) => {
                journal.started(intent, &upid.raw)?;
                let waited = std::time::Instant::now();
                let done = client.wait(&upid).await.map(|_| ());
                super::RunMetrics::add(&super::METRICS.task_wait_ms, waited);
                done
            }
            Err(e) => Err(e),
        };
        match outcome {
            Ok(()) => return Ok(()),
            Err(e) if is_lock_timeout(&e) && attempt < 8 => {
                attempt += 1;
                super::LOCK_RETRIES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                lock_backoff(attempt).await;
            }
            Err(e) => return Err(pve(what, e)),
        }
    }
}

/// Waits before trying again after Proxmox's "can't lock file ... got timeout" (exponential,
/// with jitter so contending writers spread out), counted as time spent on locks.
async fn lock_backoff(attempt: u32) {
    let backoff = std::time::Duration::from_millis(200u64 << attempt.min(5));
    let jitter = std::time::Duration::from_millis(rand::random::<u64>() % 200);
    let waited = std::time::Instant::now();
    tokio::time::sleep(backoff + jitter).await;
    super::RunMetrics::add(&super::METRICS.lock_wait_ms, waited);
}

/// A guest as it is now: raw config, decoded, identity.
pub struct Read {
    pub raw: Map<String, Json>,
    pub decoded: Map<String, Json>,
    pub running: bool,
    pub digest: Option<String>,
    pub fingerprint: Option<String>,
}

/// Reads a guest back after a change. Its pool is the one pmx just gave it (`pool`): reading
/// `/cluster/resources` for it would cost the whole cluster's list per guest.
pub async fn read_guest(
    client: &PveClient,
    rt: &ResourceType,
    node: &str,
    vmid: u32,
    pool: Option<&str>,
) -> OpResult<Read> {
    let kind = kind_of(rt);
    let (config, status) =
        futures::try_join!(client.guest_config(node, &kind, vmid), client.guest_status(node, &kind, vmid))
            .map_err(|e| pve(&format!("reading {} {vmid} back", rt.name), e))?;
    let raw: Map<String, Json> = config.into_iter().collect();
    let pool = pool.map(str::to_string);
    let running = matches!(status.status, crate::proxmox::models::GuestState::Running);
    let guest = LiveGuest { node: node.to_string(), vmid, pool, running, template: false, config: raw.clone() };
    Ok(Read {
        decoded: codec::decode(rt, &guest),
        digest: str_of(&raw, "digest").map(str::to_string),
        fingerprint: plan::fingerprint_of(&raw),
        running,
        raw,
    })
}

/// The stored form of a resource: decoded attributes plus pmx's bookkeeping.
fn stored_attributes(decoded: &Map<String, Json>, rc: &ResourceChange, desired_plan: &Json) -> Json {
    let mut m = decoded.clone();
    let mut secrets = Map::new();
    collect_secrets(desired_plan, &rc.after_sensitive, "", &mut secrets);
    if let Some(rt) = registry().resource(&rc.type_name) {
        collect_write_only(&rt.attributes, &rt.blocks, desired_plan, "", &mut secrets);
    }
    let book = Bookkeeping {
        provider: rc.provider.clone(),
        origin: "managed".into(),
        managed: rc.managed_paths.clone(),
        secrets,
        prevent_destroy: false,
    };
    m.insert(PMX_META.into(), serde_json::to_value(book).unwrap_or(Json::Null));
    Json::Object(m)
}

/// The keyed hashes of sensitive values, by dotted path (from the plan's `after`).
fn collect_secrets(after: &Json, marks: &Json, prefix: &str, out: &mut Map<String, Json>) {
    match marks {
        Json::Bool(true) if !after.is_null() => {
            out.insert(prefix.to_string(), after.clone());
        }
        Json::Object(m) => {
            for (k, mark) in m {
                let p = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                collect_secrets(after.get(k).unwrap_or(&Json::Null), mark, &p, out);
            }
        }
        _ => {}
    }
}

/// Values Proxmox never returns (a container's `ostemplate`), by dotted path: the diff
/// compares with them.
fn collect_write_only(
    attrs: &[crate::schema::Attribute],
    blocks: &[crate::schema::BlockType],
    after: &Json,
    prefix: &str,
    out: &mut Map<String, Json>,
) {
    let path = |name: &str| if prefix.is_empty() { name.to_string() } else { format!("{prefix}.{name}") };
    for a in attrs.iter().filter(|a| a.canon == crate::schema::Canon::WriteOnly) {
        if let Some(v) = after.get(a.name).filter(|v| !v.is_null()) {
            out.entry(path(a.name)).or_insert_with(|| v.clone());
        }
    }
    for b in blocks {
        let Some(body) = after.get(b.name) else { continue };
        match b.nesting {
            crate::schema::Nesting::Single => collect_write_only(&b.attributes, &b.blocks, body, &path(b.name), out),
            crate::schema::Nesting::Slotted { .. } => {
                for (slot, sb) in body.as_object().into_iter().flatten() {
                    collect_write_only(&b.attributes, &b.blocks, sb, &format!("{}.{slot}", path(b.name)), out);
                }
            }
        }
    }
}

/// `Created`, or `Replaced` when state still holds the resource (a replacement, or a guest
/// deleted outside pmx and created again).
fn created_type(ctx: &Ctx, address: &crate::addr::ResourceAddress) -> ChangeType {
    let present = ctx.store.lock().ok().and_then(|mut s| s.get(address).ok().flatten()).is_some();
    if present {
        ChangeType::Replaced
    } else {
        ChangeType::Created
    }
}

fn commit(ctx: &Ctx, change: Change) -> OpResult<()> {
    let cluster = ctx
        .plan
        .resource_changes
        .iter()
        .find(|r| r.address == change.address.to_string())
        .map(|r| r.provider.clone())
        .unwrap_or_else(|| "proxmox".into());
    let change = change.cluster(cluster).origin(crate::state::Origin::Managed);
    super::RunMetrics::snapshot(serde_json::to_vec(&change.attributes).map_or(0, |v| v.len()));
    let mut s = ctx.store.lock().map_err(|_| "state store lock poisoned".to_string())?;
    s.commit_changes(Some(ctx.run), vec![change])
        .map(|_| ())
        .map_err(|e| format!("cannot record the change in state: {e}"))
}

fn guest_change(ct: ChangeType, rt: &ResourceType, rc: &ResourceChange, node: &str, vmid: u32, read: &Read) -> Change {
    let kind = plan::kind_of(rt.name).unwrap_or(crate::state::ResourceKind::Vm);
    let plan_after = rc.after.clone().unwrap_or(Json::Null);
    let mut c = Change::new(
        ct,
        kind,
        rc.address.parse().expect("plan addresses parse"),
        stored_attributes(&read.decoded, rc, &plan_after),
    )
    .node(node)
    .vmid(vmid)
    .status(if read.running { "running" } else { "stopped" });
    if let Some(f) = &read.fingerprint {
        c = c.fingerprint(f.clone());
    }
    if let Some(d) = &read.digest {
        c = c.digest(d.clone());
    }
    c.payload(json!({"source": "apply", "action": rc.action, "impact": rc.impact, "changed": rc.changes.iter().map(|c| c.dotted()).collect::<Vec<_>>()}))
}

/// Carries out one planned change; returns what state now knows of it.
pub async fn execute(ctx: &Ctx, rc: &ResourceChange, desired: Option<Map<String, Json>>) -> OpResult<Done> {
    let rt = registry().resource(&rc.type_name).ok_or_else(|| format!("unknown resource type {}", rc.type_name))?;
    let ep = ctx.endpoints.get(&rc.provider).ok_or_else(|| format!("no provider {}", rc.provider))?;
    let client = &ep.client;
    let journal = Journal { store: ctx.store.clone(), run: ctx.run };
    match (rt.name, rc.action) {
        ("pool", Action::Create) => pool_create(ctx, client, &journal, rt, rc, &desired.unwrap_or_default()).await,
        ("pool", Action::Update | Action::Import | Action::Move) => {
            pool_update(ctx, client, &journal, rt, rc, &desired.unwrap_or_default()).await
        }
        ("pool", Action::Delete) => pool_delete(ctx, client, &journal, rc).await,
        ("pool", Action::Replace) => {
            pool_delete(ctx, client, &journal, rc).await?;
            pool_create(ctx, client, &journal, rt, rc, &desired.unwrap_or_default()).await
        }
        (_, Action::Create) => guest_create(ctx, client, &journal, rt, rc, &desired.unwrap_or_default()).await,
        (_, Action::Update | Action::Import | Action::Move) => {
            guest_update(ctx, client, &journal, rt, rc, &desired.unwrap_or_default()).await
        }
        (_, Action::Delete) => guest_delete(ctx, client, &journal, rt, rc, true).await,
        (_, Action::Replace) if rc.create_before_destroy => {
            let done = guest_create(ctx, client, &journal, rt, rc, &desired.unwrap_or_default()).await?;
            guest_delete(ctx, client, &journal, rt, rc, false).await?;
            Ok(done)
        }
        (_, Action::Replace) => {
            guest_delete(ctx, client, &journal, rt, rc, false).await?;
            guest_create(ctx, client, &journal, rt, rc, &desired.unwrap_or_default()).await
        }
        (_, Action::Forget) => {
            let kind = plan::kind_of(rt.name).unwrap_or(crate::state::ResourceKind::Vm);
            let c = Change::new(ChangeType::Forgotten, kind, rc.address.parse().expect("address"), Json::Null)
                .payload(json!({"source": "apply", "reason": rc.action_reason}));
            commit(ctx, c)?;
            Ok(Done::default())
        }
        _ => Ok(Done::default()),
    }
}

async fn pool_create(
    ctx: &Ctx,
    client: &PveClient,
    journal: &Journal,
    rt: &ResourceType,
    rc: &ResourceChange,
    desired: &Map<String, Json>,
) -> OpResult<Done> {
    let id = str_of(desired, "id").ok_or("a pool needs an id")?.to_string();
    let comment = str_of(desired, "comment");
    let addr: crate::addr::ResourceAddress = rc.address.parse().expect("address");
    let intent = journal.begin(&addr, &rc.provider, "create", None, None, json!({"poolid": id}))?;
    if let Err(e) = client.create_pool(&id, comment).await {
        journal.abandon(&intent, &e.to_string());
        return Err(pve(&format!("creating pool {id}"), e));
    }
    let mut decoded = Map::new();
    decoded.insert("id".into(), Json::String(id.clone()));
    if let Some(c) = comment {
        decoded.insert("comment".into(), Json::String(c.into()));
    }
    let plan_after = rc.after.clone().unwrap_or(Json::Null);
    commit(
        ctx,
        Change::new(
            ChangeType::Created,
            crate::state::ResourceKind::Pool,
            addr.clone(),
            stored_attributes(&decoded, rc, &plan_after),
        )
        .payload(json!({"source": "apply"})),
    )?;
    journal.finish(&intent)?;
    let _ = rt;
    Ok(Done { known: decoded, id: Some(id) })
}

async fn pool_update(
    ctx: &Ctx,
    client: &PveClient,
    journal: &Journal,
    _rt: &ResourceType,
    rc: &ResourceChange,
    desired: &Map<String, Json>,
) -> OpResult<Done> {
    let id = str_of(desired, "id").ok_or("a pool needs an id")?.to_string();
    let addr: crate::addr::ResourceAddress = rc.address.parse().expect("address");
    if let Some(from) = &rc.previous_address {
        let mut s = ctx.store.lock().map_err(|_| "state store lock poisoned")?;
        s.move_resource(Some(ctx.run), &from.parse().expect("address"), &addr).map_err(|e| e.to_string())?;
    }
    let comment = str_of(desired, "comment").unwrap_or("");
    if !rc.changes.is_empty() {
        let intent = journal.begin(&addr, &rc.provider, "update", None, None, json!({"poolid": id}))?;
        client
            .update_pool(&id, Some(comment), &[], &[], false)
            .await
            .map_err(|e| pve(&format!("updating pool {id}"), e))?;
        journal.finish(&intent)?;
    }
    let mut decoded = Map::new();
    decoded.insert("id".into(), Json::String(id.clone()));
    if !comment.is_empty() {
        decoded.insert("comment".into(), Json::String(comment.into()));
    }
    let ct = if rc.action == Action::Import { ChangeType::Imported } else { ChangeType::Updated };
    let plan_after = rc.after.clone().unwrap_or(Json::Null);
    commit(
        ctx,
        Change::new(ct, crate::state::ResourceKind::Pool, addr, stored_attributes(&decoded, rc, &plan_after))
            .payload(json!({"source": "apply"})),
    )?;
    Ok(Done { known: decoded, id: Some(id) })
}

async fn pool_delete(ctx: &Ctx, client: &PveClient, journal: &Journal, rc: &ResourceChange) -> OpResult<Done> {
    let before = rc.before.clone().unwrap_or(Json::Null);
    let id = before.get("id").and_then(Json::as_str).ok_or("the plan does not say which pool")?.to_string();
    let addr: crate::addr::ResourceAddress = rc.address.parse().expect("address");
    let intent = journal.begin(&addr, &rc.provider, "delete", None, None, json!({"poolid": id}))?;
    match client.delete_pool(&id).await {
        Ok(()) => {}
        Err(e) if e.status() == Some(500) && e.to_string().contains("does not exist") => {}
        Err(e) => {
            journal.abandon(&intent, &e.to_string());
            return Err(pve(&format!("deleting pool {id}"), e));
        }
    }
    if rc.action == Action::Delete {
        commit(ctx, Change::deleted(crate::state::ResourceKind::Pool, addr).payload(json!({"source": "apply"})))?;
    }
    journal.finish(&intent)?;
    Ok(Done::default())
}

/// The next vmid: reserved in state (per cluster) so that concurrent runs never collide.
fn reserve_vmid(ctx: &Ctx, rc: &ResourceChange, first_free: u32) -> OpResult<u32> {
    let taken = ctx.taken_vmids(&rc.provider);
    let candidates = (first_free.max(100)..1_000_000).filter(move |v| !taken.contains(v));
    let mut s = ctx.store.lock().map_err(|_| "state store lock poisoned")?;
    s.reserve_vmid(
        &rc.provider,
        &rc.address.parse().expect("address"),
        candidates,
        std::time::Duration::from_secs(3600),
    )
    .map_err(|e| format!("cannot reserve a vmid: {e}"))
}

async fn guest_create(
    ctx: &Ctx,
    client: &PveClient,
    journal: &Journal,
    rt: &ResourceType,
    rc: &ResourceChange,
    desired: &Map<String, Json>,
) -> OpResult<Done> {
    let kind = kind_of(rt);
    let node = str_of(desired, "node").ok_or("a guest needs a node")?.to_string();
    let addr: crate::addr::ResourceAddress = rc.address.parse().expect("address");
    let explicit = desired.get("vmid").and_then(Json::as_u64).map(|v| v as u32);
    let vmid = match explicit {
        Some(v) => v,
        None => {
            let next = client.next_id().await.map_err(|e| pve("asking for a free vmid", e))?;
            reserve_vmid(ctx, rc, next)?
        }
    };
    let name_key = if rt.name == "container" { "hostname" } else { "name" };
    let pool = str_of(desired, "pool");
    let clone = desired.get("clone").and_then(Json::as_object);
    if let Some(clone) = clone {
        let source = clone.get("source").and_then(Json::as_u64).ok_or("clone needs a source vmid")? as u32;
        let source_node =
            ctx.node_of(&rc.provider, source).ok_or_else(|| format!("clone source {source} is not on the cluster"))?;
        let mut p = Params::new().set_bool("full", clone.get("full").and_then(Json::as_bool).unwrap_or(true));
        if let Some(n) = str_of(desired, name_key) {
            p = p.set(name_key, n);
        }
        if source_node != node {
            p = p.set("target", &node);
        }
        if let Some(st) = clone.get("storage").and_then(Json::as_str) {
            p = p.set("storage", st);
        }
        if let Some(f) = clone.get("format").and_then(Json::as_str) {
            p = p.set("format", f);
        }
        if let Some(pool) = pool {
            p = p.set("pool", pool);
        }
        let intent = journal.begin(
            &addr,
            &rc.provider,
            "clone",
            Some(vmid),
            Some(&node),
            json!({"source": source, "name": str_of(desired, name_key)}),
        )?;
        let permit = ctx.clone_permit(&rc.provider, source).await;
        // PVE clones to another node only from shared storage. From local storage pmx clones on
        // the template's node and migrates the stopped clone with its disks, as people do by hand.
        let local_only = {
            let probe = client.clone_guest(&source_node, &kind, source, vmid, &p).await;
            match probe {
                Ok(upid) => {
                    // The first attempt started: wait for it (and retry it on a lock timeout).
                    let first = std::sync::Mutex::new(Some(upid));
                    let what = format!("cloning {source} to {vmid}");
                    let started = retrying(client, journal, &intent, &what, || {
                        let taken = first.lock().ok().and_then(|mut f| f.take());
                        let p = p.clone();
                        let source_node = source_node.clone();
                        let kind = kind.clone();
                        async move {
                            match taken {
                                Some(u) => Ok(u),
                                None => client.clone_guest(&source_node, &kind, source, vmid, &p).await,
                            }
                        }
                    })
                    .await;
                    if let Err(e) = started {
                        journal.abandon(&intent, &e);
                        ctx.release_vmid(&rc.provider, vmid);
                        return Err(e);
                    }
                    false
                }
                Err(e)
                    if source_node != node
                        && e.to_string().contains("uses local storage")
                        && kind == GuestKind::Qemu =>
                {
                    true
                }
                Err(e) => {
                    journal.abandon(&intent, &e.to_string());
                    ctx.release_vmid(&rc.provider, vmid);
                    return Err(pve(&format!("cloning {source} to {vmid}"), e));
                }
            }
        };
        let cloned_on = if local_only { source_node.clone() } else { node.clone() };
        if local_only {
            let local = Params(p.0.iter().filter(|(k, _)| k != "target").cloned().collect());
            let what = format!("cloning {source} to {vmid} on {source_node}");
            if let Err(e) = retrying(client, journal, &intent, &what, || {
                client.clone_guest(&source_node, &kind, source, vmid, &local)
            })
            .await
            {
                journal.abandon(&intent, &e);
                ctx.release_vmid(&rc.provider, vmid);
                return Err(e);
            }
        }
        drop(permit);
        // Now the clone exists: record it at once, so a crash from here on leaves it tracked.
        let read = read_guest(client, rt, &cloned_on, vmid, pool_of(rc, desired)).await?;
        commit(ctx, guest_change(created_type(ctx, &addr), rt, rc, &cloned_on, vmid, &read))?;
        journal.finish(&intent)?;
        ctx.release_vmid(&rc.provider, vmid);
        let read = if cloned_on != node {
            let intent =
                journal.begin(&addr, &rc.provider, "migrate", Some(vmid), Some(&cloned_on), json!({"target": node}))?;
            retrying(client, journal, &intent, &format!("migrating the clone {vmid} to {node}"), || {
                client.migrate_offline_with_local_disks(&cloned_on, vmid, &node)
            })
            .await?;
            let read = read_guest(client, rt, &node, vmid, pool_of(rc, desired)).await?;
            commit(ctx, guest_change(ChangeType::Updated, rt, rc, &node, vmid, &read))?;
            journal.finish(&intent)?;
            read
        } else {
            read
        };
        converge_clone(ctx, client, journal, rt, rc, desired, &node, vmid, read).await
    } else {
        let enc = codec::encode_create(rt, desired);
        let mut p = params_of(&enc.params);
        if let Some(pool) = pool {
            p = p.set("pool", pool);
        }
        let intent = journal.begin(
            &addr,
            &rc.provider,
            "create",
            Some(vmid),
            Some(&node),
            json!({"name": str_of(desired, name_key)}),
        )?;
        let what = format!("creating {} {vmid}", rt.name);
        if let Err(e) = retrying(client, journal, &intent, &what, || client.create_guest(&node, &kind, vmid, &p)).await
        {
            journal.abandon(&intent, &e);
            ctx.release_vmid(&rc.provider, vmid);
            return Err(e);
        }
        let read = read_guest(client, rt, &node, vmid, pool_of(rc, desired)).await?;
        commit(ctx, guest_change(created_type(ctx, &addr), rt, rc, &node, vmid, &read))?;
        journal.finish(&intent)?;
        ctx.release_vmid(&rc.provider, vmid);
        let read = power_to(ctx, client, journal, rt, rc, desired, &node, vmid, read).await?;
        Ok(done_of(rt, &read))
    }
}

/// The pool a guest is in after its change: the desired one, else the one it had.
fn pool_of<'a>(rc: &'a ResourceChange, desired: &'a Map<String, Json>) -> Option<&'a str> {
    str_of(desired, "pool").or_else(|| rc.before.as_ref().and_then(|b| b.get("pool")).and_then(Json::as_str))
}

fn done_of(rt: &ResourceType, read: &Read) -> Done {
    Done { known: read.decoded.clone(), id: Some(plan::resource_id(rt, &read.decoded)) }
}

/// After a clone: the template's config becomes the desired one (what the clone did not carry
/// over), disks grow to their size, and the guest is started.
#[allow(clippy::too_many_arguments)]
async fn converge_clone(
    ctx: &Ctx,
    client: &PveClient,
    journal: &Journal,
    rt: &ResourceType,
    rc: &ResourceChange,
    desired: &Map<String, Json>,
    node: &str,
    vmid: u32,
    read: Read,
) -> OpResult<Done> {
    let outcome = ctx.diff_against(rt, rc, desired, &read.decoded, read.running);
    let read = apply_changes(ctx, client, journal, rt, rc, desired, node, vmid, read, &outcome.changes, None).await?;
    let read = power_to(ctx, client, journal, rt, rc, desired, node, vmid, read).await?;
    Ok(done_of(rt, &read))
}

/// Starts or stops a guest to match `started` (default true), and records the result.
#[allow(clippy::too_many_arguments)]
async fn power_to(
    ctx: &Ctx,
    client: &PveClient,
    journal: &Journal,
    rt: &ResourceType,
    rc: &ResourceChange,
    desired: &Map<String, Json>,
    node: &str,
    vmid: u32,
    read: Read,
) -> OpResult<Read> {
    let want = desired.get("started").and_then(Json::as_bool).unwrap_or(true);
    if want == read.running {
        return Ok(read);
    }
    let kind = kind_of(rt);
    let addr: crate::addr::ResourceAddress = rc.address.parse().expect("address");
    let action = if want { "start" } else { "shutdown" };
    let intent = journal.begin(&addr, &rc.provider, action, Some(vmid), Some(node), json!({}))?;
    retrying(client, journal, &intent, &format!("{action} of {vmid}"), || async {
        if want {
            client.start(node, &kind, vmid).await
        } else {
            client.shutdown(node, &kind, vmid, Some(120)).await
        }
    })
    .await?;
    let read = read_guest(client, rt, node, vmid, pool_of(rc, desired)).await?;
    commit(ctx, guest_change(ChangeType::Updated, rt, rc, node, vmid, &read))?;
    journal.finish(&intent)?;
    Ok(read)
}

/// Sends the attribute changes of an update to Proxmox, in the order that keeps a running
/// guest safe: stop first when a change needs it, then config, disks, pool, node; reboot when a
/// change waits for one; power state last.
#[allow(clippy::too_many_arguments)]
async fn apply_changes(
    ctx: &Ctx,
    client: &PveClient,
    journal: &Journal,
    rt: &ResourceType,
    rc: &ResourceChange,
    desired: &Map<String, Json>,
    node: &str,
    vmid: u32,
    mut read: Read,
    changes: &[plan::AttrChange],
    plan_digest: Option<&str>,
) -> OpResult<Read> {
    let kind = kind_of(rt);
    let addr: crate::addr::ResourceAddress = rc.address.parse().expect("address");
    let mut node = node.to_string();
    let needs_stop = read.running && changes.iter().any(|c| c.impact == plan::Impact::Stop && c.via != Via::Power);
    let needs_reboot = changes.iter().any(|c| c.impact == plan::Impact::Reboot);
    let _disruption =
        if (needs_stop || needs_reboot) && read.running { Some(ctx.disruption_permit(rc).await) } else { None };
    if needs_stop {
        let intent = journal.begin(&addr, &rc.provider, "shutdown", Some(vmid), Some(&node), json!({}))?;
        retrying(client, journal, &intent, &format!("shutting {vmid} down"), || {
            client.shutdown(&node, &kind, vmid, Some(120))
        })
        .await?;
        journal.finish(&intent)?;
    }
    // Config: one PUT with every config change, sent with the digest seen at plan time.
    let config_paths: Vec<Vec<String>> =
        changes.iter().filter(|c| c.via == Via::Config).map(|c| c.path.clone()).collect();
    let mut enc = codec::encode_update(rt, desired, &read.raw, &config_paths);
    if rt.name == "vm" && desired.get("cloud_init").is_some() && !has_cloudinit_drive(&read.raw) {
        if let Some((drive, storage)) = codec::cloud_init_drive(desired) {
            enc.params.push((drive, format!("{storage}:cloudinit")));
        }
    }
    if !enc.is_empty() {
        let intent = journal.begin(
            &addr,
            &rc.provider,
            "update",
            Some(vmid),
            Some(&node),
            json!({"params": enc.params.iter().map(|(k, _)| k).collect::<Vec<_>>(), "delete": enc.delete}),
        )?;
        let digest = plan_digest.or(read.digest.as_deref());
        let delete: Vec<&str> = enc.delete.iter().map(String::as_str).collect();
        // A config write that could not take the guest's lock is tried again with backoff, as
        // task starts are (`retrying`): the client's own retries can all land on a busy guest.
        let mut attempt = 0u32;
        let written = loop {
            match client.set_config(&node, &kind, vmid, &params_of(&enc.params), digest, &delete).await {
                Err(e) if is_lock_timeout(&e) && attempt < 8 => {
                    attempt += 1;
                    super::LOCK_RETRIES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    lock_backoff(attempt).await;
                }
                other => break other,
            }
        };
        if let Err(e) = written {
            journal.abandon(&intent, &e.to_string());
            if e.api().is_some_and(|a| a.is_digest_mismatch()) {
                return Err(format!(
                    "{} was changed by someone else since the plan (Proxmox refused the stale digest): plan again",
                    rc.address
                ));
            }
            return Err(pve(&format!("updating the config of {vmid}"), e));
        }
        journal.finish(&intent)?;
    }
    for c in changes {
        match c.via {
            Via::Resize => {
                let disk = c.path.get(1).cloned().unwrap_or_else(|| "rootfs".into());
                let disk = if c.path[0] == "rootfs" { "rootfs".to_string() } else { disk };
                let size = c.after.as_ref().and_then(Json::as_str).ok_or("resize without a size")?;
                let size =
                    if size.ends_with(|ch: char| ch.is_ascii_digit()) { format!("{size}G") } else { size.to_string() };
                let intent = journal.begin(
                    &addr,
                    &rc.provider,
                    "resize",
                    Some(vmid),
                    Some(&node),
                    json!({"disk": disk, "size": size}),
                )?;
                let upid = client
                    .resize(&node, &kind, vmid, &disk, &size)
                    .await
                    .map_err(|e| pve(&format!("growing {disk} of {vmid}"), e))?;
                if let Some(u) = upid {
                    run_task(client, journal, &intent, u, &format!("growing {disk} of {vmid}")).await?;
                }
                journal.finish(&intent)?;
            }
            Via::MoveDisk => {
                let disk = if c.path[0] == "rootfs" {
                    "rootfs".to_string()
                } else {
                    c.path.get(1).cloned().unwrap_or_default()
                };
                let storage = c.after.as_ref().and_then(Json::as_str).ok_or("move without a storage")?;
                let intent = journal.begin(
                    &addr,
                    &rc.provider,
                    "move_disk",
                    Some(vmid),
                    Some(&node),
                    json!({"disk": disk, "storage": storage}),
                )?;
                retrying(client, journal, &intent, &format!("moving {disk} of {vmid}"), || {
                    client.move_disk(&node, &kind, vmid, &disk, storage, true)
                })
                .await?;
                journal.finish(&intent)?;
            }
            Via::Pool => {
                let old = c.before.as_ref().and_then(Json::as_str);
                let new = c.after.as_ref().and_then(Json::as_str);
                let intent = journal.begin(
                    &addr,
                    &rc.provider,
                    "pool",
                    Some(vmid),
                    Some(&node),
                    json!({"from": old, "to": new}),
                )?;
                if let Some(old) = old {
                    client
                        .update_pool(old, None, &[vmid], &[], true)
                        .await
                        .map_err(|e| pve(&format!("leaving pool {old}"), e))?;
                }
                if let Some(new) = new {
                    client
                        .update_pool(new, None, &[vmid], &[], false)
                        .await
                        .map_err(|e| pve(&format!("joining pool {new}"), e))?;
                }
                journal.finish(&intent)?;
            }
            Via::Migrate => {
                let target = c.after.as_ref().and_then(Json::as_str).ok_or("migrate without a node")?.to_string();
                let intent = journal.begin(
                    &addr,
                    &rc.provider,
                    "migrate",
                    Some(vmid),
                    Some(&node),
                    json!({"target": target}),
                )?;
                let online = read.running && !needs_stop;
                retrying(client, journal, &intent, &format!("migrating {vmid} to {target}"), || {
                    client.migrate(&node, &kind, vmid, &target, online)
                })
                .await?;
                journal.finish(&intent)?;
                node = target;
            }
            _ => {}
        }
    }
    read = read_guest(client, rt, &node, vmid, pool_of(rc, desired)).await?;
    if needs_reboot && read.running && !needs_stop {
        let intent = journal.begin(&addr, &rc.provider, "reboot", Some(vmid), Some(&node), json!({}))?;
        retrying(client, journal, &intent, &format!("rebooting {vmid}"), || client.reboot(&node, &kind, vmid)).await?;
        journal.finish(&intent)?;
        read = read_guest(client, rt, &node, vmid, pool_of(rc, desired)).await?;
    }
    if needs_stop {
        let intent = journal.begin(&addr, &rc.provider, "start", Some(vmid), Some(&node), json!({}))?;
        retrying(client, journal, &intent, &format!("starting {vmid}"), || client.start(&node, &kind, vmid)).await?;
        journal.finish(&intent)?;
        read = read_guest(client, rt, &node, vmid, pool_of(rc, desired)).await?;
    }
    commit(ctx, guest_change(ChangeType::Updated, rt, rc, &node, vmid, &read))?;
    Ok(read)
}

fn has_cloudinit_drive(raw: &Map<String, Json>) -> bool {
    raw.values().any(|v| v.as_str().is_some_and(|s| s.split(',').next().is_some_and(|f| f.contains("cloudinit"))))
}

async fn guest_update(
    ctx: &Ctx,
    client: &PveClient,
    journal: &Journal,
    rt: &ResourceType,
    rc: &ResourceChange,
    desired: &Map<String, Json>,
) -> OpResult<Done> {
    let vmid = rc.live.vmid.ok_or("the plan does not say which guest")?;
    let node = rc.live.node.clone().ok_or("the plan does not say where the guest is")?;
    let addr: crate::addr::ResourceAddress = rc.address.parse().expect("address");
    if let Some(from) = &rc.previous_address {
        let mut s = ctx.store.lock().map_err(|_| "state store lock poisoned")?;
        s.move_resource(Some(ctx.run), &from.parse().expect("address"), &addr).map_err(|e| e.to_string())?;
    }
    let read = read_guest(client, rt, &node, vmid, pool_of(rc, desired)).await?;
    if rc.action == Action::Import {
        commit(ctx, guest_change(ChangeType::Imported, rt, rc, &node, vmid, &read))?;
    }
    let power_change = rc.changes.iter().any(|c| c.via == Via::Power);
    let others: Vec<plan::AttrChange> = rc.changes.iter().filter(|c| c.via != Via::Power).cloned().collect();
    let read = if others.is_empty() {
        if rc.action != Action::Import {
            commit(ctx, guest_change(ChangeType::Updated, rt, rc, &node, vmid, &read))?;
        }
        read
    } else {
        apply_changes(ctx, client, journal, rt, rc, desired, &node, vmid, read, &others, rc.live.digest.as_deref())
            .await?
    };
    let node = read.decoded.get("node").and_then(Json::as_str).unwrap_or(&node).to_string();
    let read =
        if power_change { power_to(ctx, client, journal, rt, rc, desired, &node, vmid, read).await? } else { read };
    Ok(done_of(rt, &read))
}

async fn guest_delete(
    ctx: &Ctx,
    client: &PveClient,
    journal: &Journal,
    rt: &ResourceType,
    rc: &ResourceChange,
    record: bool,
) -> OpResult<Done> {
    let kind = kind_of(rt);
    let vmid = rc.live.vmid.ok_or("the plan does not say which guest")?;
    let node = rc.live.node.clone().ok_or("the plan does not say where the guest is")?;
    let addr: crate::addr::ResourceAddress = rc.address.parse().expect("address");
    let status = client.guest_status(&node, &kind, vmid).await;
    let running = matches!(status.as_ref().map(|s| &s.status), Ok(crate::proxmox::models::GuestState::Running));
    if let Err(e) = &status {
        if e.status() == Some(500) && e.to_string().contains("does not exist") {
            if record {
                let k = plan::kind_of(rt.name).unwrap_or(crate::state::ResourceKind::Vm);
                commit(ctx, Change::deleted(k, addr).payload(json!({"source": "apply", "note": "already gone"})))?;
            }
            return Ok(Done::default());
        }
    }
    if running {
        let intent = journal.begin(&addr, &rc.provider, "stop", Some(vmid), Some(&node), json!({}))?;
        retrying(client, journal, &intent, &format!("stopping {vmid}"), || client.stop(&node, &kind, vmid)).await?;
        journal.finish(&intent)?;
    }
    let intent = journal.begin(&addr, &rc.provider, "delete", Some(vmid), Some(&node), json!({}))?;
    retrying(client, journal, &intent, &format!("deleting {vmid}"), || client.delete_guest(&node, &kind, vmid, true))
        .await?;
    // A replacement's old guest: state keeps the address for the new one, which records
    // itself as Replaced.
    if record {
        let k = plan::kind_of(rt.name).unwrap_or(crate::state::ResourceKind::Vm);
        commit(ctx, Change::deleted(k, addr).payload(json!({"source": "apply", "vmid": vmid})))?;
    }
    journal.finish(&intent)?;
    Ok(Done::default())
}
