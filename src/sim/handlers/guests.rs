//! Guest endpoints: list, create, config (GET/PUT/POST), pending, status, delete.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde_json::{json, Value};

use super::super::guest_config::{self, config_json, guest_volumes, pending_json};
use super::super::model::{now, Guest, GuestKind, PowerState, QEMU_VERSION};
use super::super::routes::StatusAction;
use super::super::state::Sim;
use super::super::update;
use super::super::wire::{ApiError, ApiResult};
use super::resources::{guest_resource, maxdisk};
use super::{find_guest, lock_sync, spawn_task, Ctx, TaskPlan};

fn who(kind: GuestKind) -> &'static str {
    match kind {
        GuestKind::Qemu => "VM",
        GuestKind::Lxc => "CT",
    }
}

pub fn list(ctx: &Ctx, kind: GuestKind) -> ApiResult {
    let node = ctx.node()?;
    let c = ctx.sim.read();
    let t = now();
    let rows = c
        .guests
        .values()
        .filter(|g| g.node == node && g.kind == kind)
        .filter(|g| ctx.has(&c, &format!("/vms/{}", g.vmid), &["VM.Audit"], false))
        .map(|g| {
            let r = guest_resource(g, t);
            let mut row = json!({
                "vmid": g.vmid,
                "name": r["name"],
                "status": r["status"],
                "cpus": r["maxcpu"],
                "maxmem": r["maxmem"],
                "maxdisk": r["maxdisk"],
                "mem": r["mem"],
                "cpu": r["cpu"],
                "disk": 0,
                "netin": r["netin"],
                "netout": r["netout"],
                "diskread": r["diskread"],
                "diskwrite": r["diskwrite"],
                "uptime": r["uptime"],
            });
            if kind == GuestKind::Lxc {
                row["type"] = json!("lxc");
                let swap: u64 = g.config.get("swap").and_then(|v| v.parse().ok()).unwrap_or(512);
                row["maxswap"] = json!(swap << 20);
                row["swap"] = json!(0);
            } else if g.running() {
                row["pid"] = json!(10_000 + g.vmid);
                row["qmpstatus"] = json!("running");
            }
            for k in ["tags", "lock"] {
                if let Some(v) = g.config.get(k) {
                    row[k] = json!(v);
                }
            }
            if g.is_template() {
                row["template"] = json!(1);
            }
            row
        })
        .collect();
    Ok(Value::Array(rows))
}

/// Keys that are create-time options, not config.
const CREATE_ONLY: &[&str] = &[
    "node",
    "vmid",
    "pool",
    "start",
    "storage",
    "archive",
    "unique",
    "live-restore",
    "ha-managed",
    "bwlimit",
    "import-working-storage",
    "force",
    "ostemplate",
    "password",
    "ssh-public-keys",
    "restore",
    "ignore-unpack-errors",
];

fn lxc_ostype(template: &str) -> &'static str {
    let name = template.rsplit('/').next().unwrap_or(template);
    for os in ["debian", "ubuntu", "alpine", "centos", "fedora", "archlinux", "opensuse", "gentoo", "devuan", "nixos"] {
        if name.starts_with(os) {
            return os;
        }
    }
    if name.starts_with("rocky") || name.starts_with("almalinux") {
        return "centos";
    }
    "unmanaged"
}

/// qemu-server's `check_and_pin_machine_string` / `windows_get_pinned_machine_version`: an
/// unversioned machine type (none, `pc`, `q35`) becomes the installed QEMU's version
/// (`pc-i440fx-11.0`, `pc-q35-11.0`), its other properties kept; None when already pinned.
fn pin_windows_machine(machine: &str) -> Option<String> {
    let mut mtype = "";
    let mut props: Vec<&str> = Vec::new();
    for part in machine.split(',').filter(|p| !p.is_empty()) {
        if let Some(t) = part.strip_prefix("type=") {
            mtype = t;
        } else if !part.contains('=') {
            mtype = part;
        } else {
            props.push(part);
        }
    }
    let version = QEMU_VERSION.split('.').take(2).collect::<Vec<_>>().join(".");
    let pinned = match mtype {
        "" | "pc" => format!("pc-i440fx-{version}"),
        "q35" => format!("pc-q35-{version}"),
        _ => return None,
    };
    props.sort_unstable();
    Some(std::iter::once(pinned.as_str()).chain(props).collect::<Vec<_>>().join(","))
}

pub fn create(ctx: &Ctx, kind: GuestKind) -> ApiResult {
    let node = ctx.node()?.to_string();
    let vmid = ctx.vmid();
    let sim = &ctx.sim;
    super::privileges::check_guest_write(ctx, kind, &ctx.params)?;
    let mut updates: BTreeMap<String, String> = ctx
        .params
        .iter()
        .filter(|(k, _)| !CREATE_ONLY.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mut c = sim.write();
    super::privileges::check_pool_exist(&c, ctx.param("pool"))?;
    match kind {
        GuestKind::Qemu => super::privileges::check_qemu_perms(ctx, &c, vmid, &ctx.params, true)?,
        GuestKind::Lxc => super::privileges::check_lxc_perms(ctx, &c, vmid, &ctx.params, true)?,
    }
    if let Some(existing) = c.guests.get(&vmid) {
        return Err(ApiError::server(format!(
            "unable to create {} {vmid} - {} {vmid} already exists on node '{}'",
            who(kind),
            who(kind),
            existing.node
        )));
    }
    let mut warnings = Vec::new();
    let mut pin_log: Option<String> = None;
    if kind == GuestKind::Lxc {
        let tmpl = ctx.param("ostemplate").unwrap_or("");
        if c.volume(&node, tmpl).is_none() {
            return Err(ApiError::server(format!("volume '{tmpl}' does not exist")));
        }
        let storage = ctx.param("storage").unwrap_or("local");
        // pve-container's create_vm: a bare size gets the default storage; mount points need a rootfs.
        for (key, value) in updates.iter_mut() {
            if (key == "rootfs" || key.starts_with("mp"))
                && value.split(',').next().is_some_and(|f| f.parse::<f64>().is_ok())
            {
                *value = format!("{storage}:{value}");
            }
        }
        if updates.keys().any(|k| k.starts_with("mp")) && !updates.contains_key("rootfs") {
            return Err(ApiError::server("mount points configured, but 'rootfs' not set - aborting"));
        }
        if !updates.contains_key("rootfs") {
            let rootdir = c.storages.get(storage).is_some_and(|s| s.supports("rootdir"));
            if !rootdir {
                return Err(ApiError::param(
                    "storage",
                    format!("storage '{storage}' does not support container directories"),
                ));
            }
            updates.insert("rootfs".into(), format!("{storage}:4"));
        }
        updates.entry("arch".into()).or_insert_with(|| "amd64".into());
        updates.entry("ostype".into()).or_insert_with(|| lxc_ostype(tmpl).into());
        updates.entry("hostname".into()).or_insert_with(|| format!("CT{vmid}"));
        // PVE 9 (pve-container 6.0.6, "api: create: default to unprivileged containers"):
        // `unprivileged` defaults to 1 and is written; a privileged CT must ask for it.
        match updates.get("unprivileged").map(String::as_str) {
            None => {
                updates.insert("unprivileged".into(), "1".into());
            }
            Some(v) if super::super::params::parse_bool(v) == Some(false) => {
                updates.remove("unprivileged");
            }
            Some(_) => {
                updates.insert("unprivileged".into(), "1".into());
            }
        }
        // After extraction create_vm writes `memory ||= 512` and `swap //= 512`.
        updates.entry("memory".into()).or_insert_with(|| "512".into());
        updates.entry("swap".into()).or_insert_with(|| "512".into());
        let nesting = updates.get("features").is_some_and(|f| f.contains("nesting=1"));
        // LXC/Setup.pm: the systemd check warns for any CT without nesting.
        if !nesting && lxc_ostype(tmpl) != "alpine" {
            warnings.push("WARN: Systemd 252 detected. You may need to enable nesting.".to_string());
        }
    } else {
        updates.entry("smbios1".into()).or_insert_with(|| format!("uuid={}", sim.uuid()));
        // A missing vmgenid, or "1", gets a generated one, as in qemu-server's create_vm.
        if updates.get("vmgenid").is_none_or(|v| v == "1") {
            updates.insert("vmgenid".into(), sim.uuid());
        }
        updates.insert("meta".into(), format!("creation-qemu={QEMU_VERSION},ctime={}", now()));
        // check_and_pin_machine_string: a Windows guest's machine type is pinned on create to
        // the installed QEMU's major.minor ("they get confused too easily").
        let windows = updates.get("ostype").is_some_and(|o| o.starts_with('w'));
        if windows {
            if let Some(pinned) = pin_windows_machine(updates.get("machine").map(String::as_str).unwrap_or("")) {
                pin_log = Some(format!(
                    "pinning machine type to '{}' for Windows guest OS",
                    pinned.split(',').next().unwrap_or_default()
                ));
                updates.insert("machine".into(), pinned);
            }
        }
    }
    let mut mac = || sim.mac();
    let prepared =
        guest_config::prepare(&c, kind, &node, vmid, &updates, &mut mac, guest_config::PrepareOptions::default())
            .map_err(|(k, m)| ApiError::param(&k, m))?;
    // pve-container's create_vm activates each storage before forking (a disabled one is
    // refused at once); qemu-server allocates inside the worker, so there a full or disabled
    // storage fails the task.
    if kind == GuestKind::Lxc {
        for vol in &prepared.new_volumes {
            let sid = vol.volid.split_once(':').map_or("", |(s, _)| s);
            super::super::storage::check_enabled(&c, sid, Some(&node)).map_err(ApiError::server)?;
        }
    }
    let mut added: Vec<String> = Vec::new();
    for vol in &prepared.new_volumes {
        if let Err(m) = c.add_volume(&node, vol.clone()) {
            for v in &added {
                c.remove_volume(&node, v);
            }
            drop(c);
            let task_kind = if kind == GuestKind::Qemu { "qmcreate" } else { "vzcreate" };
            let message = format!("unable to create {} {vmid} - {m}", who(kind));
            return Ok(json!(super::failing_task(ctx, node, task_kind, kind, vmid, message)));
        }
        added.push(vol.volid.clone());
    }
    let mut config = prepared.set;
    if kind == GuestKind::Qemu && !config.contains_key("boot") {
        if let Some(order) = guest_config::default_boot_order(&config) {
            config.insert("boot".into(), order);
        }
    }
    config.insert("lock".into(), "create".into());
    c.guests.insert(
        vmid,
        Guest {
            vmid,
            kind,
            node: node.clone(),
            config,
            pending: BTreeMap::new(),
            pending_delete: BTreeSet::new(),
            pending_force: BTreeSet::new(),
            state: PowerState::Stopped,
            started_at: None,
            pool: ctx.param("pool").map(str::to_string),
        },
    );
    drop(c);
    let start = ctx.flag("start").unwrap_or(false);
    let logs: Vec<String> = pin_log
        .into_iter()
        .chain(
            added
                .iter()
                .map(|v| format!("  Logical volume \"{}\" created.", v.split_once(':').map_or(v.as_str(), |x| x.1))),
        )
        .collect();
    let warn_count = warnings.len();
    let work: super::Work = Box::new(move |sim: &Sim, upid: &str| {
        for l in logs.iter().chain(warnings.iter()) {
            sim.tasks.log(upid, l.clone());
        }
        let mut c = sim.write();
        let g = c.guests.get_mut(&vmid).ok_or_else(|| format!("{} {vmid} vanished during create", who(kind)))?;
        g.config.remove("lock");
        if !start {
            return Ok(warn_count);
        }
        let snapshot = g.clone();
        drop(c);
        // create_vm starts the guest after creating it; a failed start is a warning and leaves
        // it created and stopped.
        if let Err(e) = start_check(sim, &snapshot, upid) {
            sim.tasks.log(upid, e);
            return Ok(warn_count + 1);
        }
        if let Some(g) = sim.write().guests.get_mut(&vmid) {
            g.state = PowerState::Running;
            g.started_at = Some(now());
        }
        Ok(warn_count)
    });
    let cleanup: super::Cleanup = Box::new(move |sim: &Sim| remove_guest(sim, vmid));
    let task_kind = if kind == GuestKind::Qemu { "qmcreate" } else { "vzcreate" };
    let upid =
        spawn_task(ctx, TaskPlan { cleanup: Some(cleanup), ..TaskPlan::on_guest(node, task_kind, kind, vmid, work) });
    Ok(json!(upid))
}

/// Drops a guest and all its volumes.
pub fn remove_guest(sim: &Sim, vmid: u32) {
    let mut c = sim.write();
    if let Some(g) = c.guests.remove(&vmid) {
        for (_, volid) in guest_volumes(&g) {
            c.remove_volume(&g.node, &volid);
        }
    }
}

pub fn config_get(ctx: &Ctx, kind: GuestKind) -> ApiResult {
    let node = ctx.node()?;
    let c = ctx.sim.read();
    let g = find_guest(&c, node, kind, ctx.vmid())?;
    if ctx.param("snapshot").is_some() {
        return Err(ApiError::server(format!("snapshot '{}' does not exist", ctx.param("snapshot").unwrap_or(""))));
    }
    Ok(config_json(g, ctx.flag("current").unwrap_or(false)))
}

pub fn pending(ctx: &Ctx, kind: GuestKind) -> ApiResult {
    let node = ctx.node()?;
    let c = ctx.sim.read();
    Ok(pending_json(find_guest(&c, node, kind, ctx.vmid())?))
}

pub async fn config_put(ctx: &Ctx, kind: GuestKind) -> ApiResult {
    let node = ctx.node()?.to_string();
    let vmid = ctx.vmid();
    early_update_checks(ctx, kind, &node, vmid)?;
    let _guard = lock_sync(ctx, kind, vmid).await?;
    let sim = ctx.sim.clone();
    let result = {
        let mut c = sim.write();
        find_guest(&c, &node, kind, vmid)?;
        let mut mac = || sim.mac();
        update::apply_update(&mut c, vmid, &ctx.params, &mut mac)
    };
    // A failed hotplug still leaves what was written (PVE raises after writing the config).
    sim.save_state_file();
    result.map(|()| Value::Null)
}

/// What a config update checks before it takes the config lock: the request alone (400s), the
/// permission rules, and for qemu `$load_and_check_config` (digest, `lock`, balloon), so that a
/// locked VM is refused at once rather than after waiting for the lock.
fn early_update_checks(ctx: &Ctx, kind: GuestKind, node: &str, vmid: u32) -> Result<(), ApiError> {
    let c = ctx.sim.read();
    let g = find_guest(&c, node, kind, vmid)?;
    update::check_request(kind, &ctx.params, super::privileges::is_root(ctx))?;
    super::privileges::check_guest_write(ctx, kind, &ctx.params)?;
    match kind {
        GuestKind::Qemu => super::privileges::check_qemu_perms(ctx, &c, vmid, &ctx.params, false)?,
        GuestKind::Lxc => super::privileges::check_lxc_perms(ctx, &c, vmid, &ctx.params, false)?,
    }
    if kind == GuestKind::Qemu {
        update::qemu_config_checks(g, &ctx.params)?;
    }
    Ok(())
}

/// qemu's asynchronous config update: a `qmconfig` task (or null if done within `background_delay`).
pub async fn config_post(ctx: &Ctx) -> ApiResult {
    let kind = GuestKind::Qemu;
    let node = ctx.node()?.to_string();
    let vmid = ctx.vmid();
    early_update_checks(ctx, kind, &node, vmid)?;
    let params = ctx.params.clone();
    let work: super::Work = Box::new(move |sim: &Sim, _upid: &str| {
        let mut c = sim.write();
        let mut mac = || sim.mac();
        update::apply_update(&mut c, vmid, &params, &mut mac).map_err(|e| match e.errors {
            Some(errs) => errs.iter().map(|(k, v)| format!("{k}: {v}")).collect::<Vec<_>>().join("\n"),
            None => e.message,
        })?;
        Ok(0)
    });
    let upid = spawn_task(ctx, TaskPlan::on_guest(node, "qmconfig", kind, vmid, work));
    if let Some(delay) = ctx.param("background_delay").and_then(|v| v.parse::<u64>().ok()) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(delay);
        while tokio::time::Instant::now() < deadline {
            match ctx.sim.tasks.get(&upid) {
                Some(t) if t.exitstatus.is_some() => {
                    if t.ok() {
                        return Ok(Value::Null);
                    }
                    return Err(ApiError::server(t.exitstatus.unwrap_or_default()));
                }
                _ => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
    }
    Ok(json!(upid))
}

pub fn status_current(ctx: &Ctx, kind: GuestKind) -> ApiResult {
    let node = ctx.node()?;
    let c = ctx.sim.read();
    let g = find_guest(&c, node, kind, ctx.vmid())?;
    let r = guest_resource(g, now());
    let mut v = json!({
        "vmid": g.vmid,
        "name": r["name"],
        "status": r["status"],
        "cpus": r["maxcpu"],
        "cpu": r["cpu"],
        "maxmem": r["maxmem"],
        "mem": r["mem"],
        "maxdisk": maxdisk(g),
        "disk": 0,
        "uptime": r["uptime"],
        "netin": r["netin"],
        "netout": r["netout"],
        "diskread": r["diskread"],
        "diskwrite": r["diskwrite"],
        "ha": {"managed": 0},
    });
    match kind {
        GuestKind::Qemu => {
            v["qmpstatus"] = json!(if g.running() { "running" } else { "stopped" });
            let agent = g.config.get("agent").is_some_and(|a| a.starts_with('1') || a.contains("enabled=1"));
            v["agent"] = json!(u8::from(agent));
            if g.running() {
                v["pid"] = json!(10_000 + g.vmid);
                let q35 = g.config.get("machine").is_some_and(|m| m.contains("q35"));
                v["running-machine"] = json!(if q35 { "pc-q35-9.2+pve1" } else { "pc-i440fx-9.2+pve1" });
                v["running-qemu"] = json!(QEMU_VERSION);
            }
        }
        GuestKind::Lxc => {
            v["type"] = json!("lxc");
            let swap: u64 = g.config.get("swap").and_then(|s| s.parse().ok()).unwrap_or(512);
            v["maxswap"] = json!(swap << 20);
            v["swap"] = json!(0);
            if g.running() {
                v["pid"] = json!(20_000 + g.vmid);
            }
        }
    }
    for k in ["tags", "lock"] {
        if let Some(val) = g.config.get(k) {
            v[k] = json!(val);
        }
    }
    if g.is_template() {
        v["template"] = json!(1);
    }
    Ok(v)
}

fn action_task_kind(kind: GuestKind, a: StatusAction) -> &'static str {
    match (kind, a) {
        (GuestKind::Qemu, StatusAction::Start) => "qmstart",
        (GuestKind::Qemu, StatusAction::Stop) => "qmstop",
        (GuestKind::Qemu, StatusAction::Shutdown) => "qmshutdown",
        (GuestKind::Qemu, StatusAction::Reboot) => "qmreboot",
        (GuestKind::Lxc, StatusAction::Start) => "vzstart",
        (GuestKind::Lxc, StatusAction::Stop) => "vzstop",
        (GuestKind::Lxc, StatusAction::Shutdown) => "vzshutdown",
        (GuestKind::Lxc, StatusAction::Reboot) => "vzreboot",
    }
}

/// Checks what a guest needs to start (its NICs' bridges exist on its node). A VM whose bridge
/// is missing fails as QEMU does when pve-bridge cannot plug the tap device: the details in the
/// log, `start failed: QEMU exited with code 1` as the status.
fn start_check(sim: &Sim, g: &Guest, upid: &str) -> Result<(), String> {
    let c = sim.read();
    // The start applies what is pending first, so the checks see the pending values.
    let mut effective = g.clone();
    effective.config.extend(g.pending.iter().map(|(k, v)| (k.clone(), v.clone())));
    if let Some(n) = c.nodes.get(&g.node) {
        if g.kind == GuestKind::Qemu {
            // config_to_command: sockets * cores against the host's CPUs.
            let maxcpus = effective.cpus();
            if u64::from(n.cpus) < maxcpus {
                return Err(format!("MAX {} vcpus allowed per VM on this node", n.cpus));
            }
            // QEMU cannot map guest RAM beyond what the host has.
            if effective.maxmem() > n.memory {
                sim.tasks.log(upid, "kvm: cannot set up guest memory 'pc.ram': Cannot allocate memory".to_string());
                return Err("start failed: QEMU exited with code 1".to_string());
            }
        }
    }
    let bridges = c.nodes.get(&g.node).map(|n| n.bridges.clone()).unwrap_or_default();
    let mut keys: Vec<(&String, &String)> = g.config.iter().chain(g.pending.iter()).collect();
    keys.sort_by_key(|(k, _)| (k.len(), k.to_string()));
    for (k, v) in keys {
        let Some(index) = k.strip_prefix("net").filter(|i| i.parse::<u32>().is_ok()) else { continue };
        let Some(b) = v.split(',').find_map(|p| p.strip_prefix("bridge=")) else { continue };
        if bridges.iter().any(|x| x == b) {
            continue;
        }
        let vmid = g.vmid;
        return Err(match g.kind {
            GuestKind::Qemu => {
                sim.tasks.log(upid, format!("bridge '{b}' does not exist"));
                sim.tasks.log(
                    upid,
                    format!(
                        "kvm: -netdev type=tap,id=net{index},ifname=tap{vmid}i{index},script=/usr/libexec/qemu-server/pve-bridge,downscript=/usr/libexec/qemu-server/pve-bridgedown,vhost=on: network script /usr/libexec/qemu-server/pve-bridge failed with status 512"
                    ),
                );
                "start failed: QEMU exited with code 1".to_string()
            }
            GuestKind::Lxc => {
                sim.tasks.log(upid, format!("bridge '{b}' does not exist"));
                format!("startup for container '{vmid}' failed")
            }
        });
    }
    Ok(())
}

pub fn status_action(ctx: &Ctx, kind: GuestKind, action: StatusAction) -> ApiResult {
    let node = ctx.node()?.to_string();
    let vmid = ctx.vmid();
    {
        let c = ctx.sim.read();
        let g = find_guest(&c, &node, kind, vmid)?;
        if action == StatusAction::Start && g.is_template() {
            return Err(ApiError::server("you can't start a vm if it's a template"));
        }
        // qemu-server's vm_shutdown has no such check (its task just ends OK); reboot and
        // pve-container's shutdown refuse a stopped guest.
        let refused = match action {
            StatusAction::Reboot => true,
            StatusAction::Shutdown => kind == GuestKind::Lxc,
            _ => false,
        };
        if refused && !g.running() {
            return Err(ApiError::server(format!("{} {vmid} not running", who(kind))));
        }
    }
    let skiplock = ctx.flag("skiplock").unwrap_or(false);
    let work: super::Work = Box::new(move |sim: &Sim, upid: &str| {
        let snapshot =
            sim.read().guests.get(&vmid).cloned().ok_or_else(|| format!("{} {vmid} does not exist", who(kind)))?;
        if let Some(lock) = snapshot.config.get("lock") {
            if !skiplock {
                return Err(format!("{} is locked ({lock})", who(kind)));
            }
        }
        match action {
            StatusAction::Start => {
                if snapshot.running() {
                    return Err(format!("{} {vmid} already running", who(kind)));
                }
                start_check(sim, &snapshot, upid)?;
                let mut c = sim.write();
                update::apply_pending(&mut c, vmid);
                if let Some(g) = c.guests.get_mut(&vmid) {
                    g.state = PowerState::Running;
                    g.started_at = Some(now());
                }
            }
            StatusAction::Stop | StatusAction::Shutdown => {
                // qemu-server's _do_vm_stop → vm_stop_cleanup(…, $apply_pending_changes = 1) and
                // pve-container's post-stop hook apply what was pending.
                let mut c = sim.write();
                update::apply_pending(&mut c, vmid);
                if let Some(g) = c.guests.get_mut(&vmid) {
                    g.state = PowerState::Stopped;
                    g.started_at = None;
                }
            }
            StatusAction::Reboot => {
                start_check(sim, &snapshot, upid)?;
                let mut c = sim.write();
                if !c.guests.get(&vmid).is_some_and(|g| g.running()) {
                    return Err(format!("{} {vmid} not running", who(kind)));
                }
                update::apply_pending(&mut c, vmid);
                if let Some(g) = c.guests.get_mut(&vmid) {
                    g.started_at = Some(now());
                }
                sim.tasks.log(upid, "requesting reboot");
            }
        }
        Ok(0)
    });
    let upid = spawn_task(ctx, TaskPlan::on_guest(node, action_task_kind(kind, action), kind, vmid, work));
    Ok(json!(upid))
}

pub fn delete(ctx: &Ctx, kind: GuestKind) -> ApiResult {
    let node = ctx.node()?.to_string();
    let vmid = ctx.vmid();
    {
        let c = ctx.sim.read();
        let g = find_guest(&c, &node, kind, vmid)?;
        if g.config.get("protection").is_some_and(|p| p == "1") {
            return Err(ApiError::server(format!("can't remove {} {vmid} - protection mode enabled", who(kind))));
        }
        let force = ctx.flag("force").unwrap_or(false);
        if g.running() && !(kind == GuestKind::Lxc && force) {
            return Err(ApiError::server(format!("{} {vmid} is running - destroy failed", who(kind))));
        }
        if g.is_template() {
            let bases: Vec<String> =
                guest_volumes(g).into_iter().map(|(_, v)| v).filter(|v| v.contains(":base-")).collect();
            for other in c.guests.values().filter(|o| o.vmid != vmid) {
                for (_, v) in guest_volumes(other) {
                    if let Some(base) = bases.iter().find(|b| v.starts_with(&format!("{b}/"))) {
                        return Err(ApiError::server(format!(
                            "base volume '{base}' is still in use by linked cloned {} {}",
                            who(other.kind),
                            other.vmid
                        )));
                    }
                }
            }
        }
    }
    let work: super::Work = Box::new(move |sim: &Sim, upid: &str| {
        let vols: Vec<String> = sim
            .read()
            .guests
            .get(&vmid)
            .map(|g| guest_volumes(g).into_iter().map(|(_, v)| v).collect())
            .unwrap_or_default();
        for v in vols {
            sim.tasks.log(upid, format!("  Logical volume \"{v}\" successfully removed."));
        }
        remove_guest(sim, vmid);
        Ok(0)
    });
    let task_kind = if kind == GuestKind::Qemu { "qmdestroy" } else { "vzdestroy" };
    let upid = spawn_task(ctx, TaskPlan::on_guest(node, task_kind, kind, vmid, work));
    Ok(json!(upid))
}
