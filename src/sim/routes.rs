//! The endpoints the simulator serves, with their parameters. This one table drives dispatch and
//! parameter verification, and `routes()` exposes it to the conformance tests, which check it
//! against PVE's published schema.

use std::sync::LazyLock;

use super::model::GuestKind;

/// A served endpoint, in PVE's notation: `/nodes/{node}/qemu/{vmid}/config`.
#[derive(Debug, Clone, Copy)]
pub struct RouteSpec {
    pub method: &'static str,
    pub path: &'static str,
    /// Query/body parameters it accepts (path parameters excluded); `net[n]` = `net0`, `net1`...
    pub params: &'static [&'static str],
    /// What the API layer checks before the handler runs (the schema's `permissions`).
    pub permission: Permission,
}

/// An endpoint's `permissions`, as PVE's method definitions declare them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// `user => 'world'`: no authentication at all.
    World,
    /// `user => 'all'`: any authenticated user; the handler checks or filters itself.
    All,
    Check(Check),
}

/// A `check` tree (`PVE::RPCEnvironment::exec_api2_perm_check`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// `['perm', path, [privs], any => 1, require_param => p]`; `{name}` in the path is a parameter.
    Perm {
        path: &'static str,
        privs: &'static [&'static str],
        any: bool,
        require_param: Option<&'static str>,
    },
    And(&'static [Check]),
    Or(&'static [Check]),
}

impl Check {
    /// The schema's JSON notation, for the conformance test.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::json;
        match self {
            Check::Perm { path, privs, any, require_param } => {
                let mut v = vec![json!("perm"), json!(path), json!(privs)];
                if *any {
                    v.extend([json!("any"), json!(1)]);
                }
                if let Some(p) = require_param {
                    v.extend([json!("require_param"), json!(p)]);
                }
                serde_json::Value::Array(v)
            }
            Check::And(subs) | Check::Or(subs) => {
                let op = if matches!(self, Check::And(_)) { "and" } else { "or" };
                let mut v = vec![json!(op)];
                v.extend(subs.iter().map(Check::to_json));
                serde_json::Value::Array(v)
            }
        }
    }
}

const fn perm(path: &'static str, privs: &'static [&'static str]) -> Permission {
    Permission::Check(Check::Perm { path, privs, any: false, require_param: None })
}

const fn perm_any(path: &'static str, privs: &'static [&'static str]) -> Permission {
    Permission::Check(Check::Perm { path, privs, any: true, require_param: None })
}

const CLONE_CHECK: Permission = Permission::Check(Check::And(&[
    Check::Perm { path: "/vms/{vmid}", privs: &["VM.Clone"], any: false, require_param: None },
    Check::Or(&[
        Check::Perm { path: "/vms/{newid}", privs: &["VM.Allocate"], any: false, require_param: None },
        Check::Perm { path: "/pool/{pool}", privs: &["VM.Allocate"], any: false, require_param: Some("pool") },
    ]),
]));

const QEMU_CONFIG_PRIVS: &[&str] = &[
    "VM.Config.Disk",
    "VM.Config.CDROM",
    "VM.Config.CPU",
    "VM.Config.Memory",
    "VM.Config.Network",
    "VM.Config.HWType",
    "VM.Config.Options",
    "VM.Config.Cloudinit",
];
const LXC_CONFIG_PRIVS: &[&str] =
    &["VM.Config.Disk", "VM.Config.CPU", "VM.Config.Memory", "VM.Config.Network", "VM.Config.Options"];

/// Each handler's declared permissions (qemu-server, pve-container, pve-manager, pve-access-control).
pub fn permission(h: Handler) -> Permission {
    use Handler as H;
    use Permission::All;
    match h {
        H::AccessTicket => Permission::World,
        H::ClusterStatus => perm("/", &["Sys.Audit"]),
        H::HaResources | H::HaStatus => perm("/", &["Sys.Audit"]),
        H::NodeStatus => perm("/nodes/{node}", &["Sys.Audit"]),
        H::NodeStorageStatus | H::StorageContent => {
            perm_any("/storage/{storage}", &["Datastore.Audit", "Datastore.AllocateSpace"])
        }
        H::Delete(_) | H::Template(_) => perm("/vms/{vmid}", &["VM.Allocate"]),
        H::ConfigGet(_) | H::Pending(_) | H::StatusCurrent(_) => perm("/vms/{vmid}", &["VM.Audit"]),
        H::ConfigPut(GuestKind::Qemu) | H::ConfigPostAsync => perm_any("/vms/{vmid}", QEMU_CONFIG_PRIVS),
        H::ConfigPut(GuestKind::Lxc) => perm_any("/vms/{vmid}", LXC_CONFIG_PRIVS),
        H::Clone(_) => CLONE_CHECK,
        H::Status(..) => perm("/vms/{vmid}", &["VM.PowerMgmt"]),
        H::Resize(GuestKind::Qemu) | H::MoveDisk(_) => perm("/vms/{vmid}", &["VM.Config.Disk"]),
        H::Resize(GuestKind::Lxc) => perm_any("/vms/{vmid}", &["VM.Config.Disk"]),
        H::Migrate(_) => perm("/vms/{vmid}", &["VM.Migrate"]),
        H::PoolsCreate | H::PoolsUpdate | H::PoolsDelete | H::PoolUpdate | H::PoolDelete => {
            perm("/pool/{poolid}", &["Pool.Allocate"])
        }
        H::PoolGet => perm("/pool/{poolid}", &["Pool.Audit"]),
        _ => All,
    }
}

/// Which parameter vocabulary applies (the same name can differ by area, e.g. `memory`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Area {
    Qemu,
    Lxc,
    Pool,
    Resources,
    Ha,
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusAction {
    Start,
    Stop,
    Shutdown,
    Reboot,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handler {
    Version,
    AccessTicket,
    AccessPermissions,
    AccessUsers,
    AccessAcl,
    AccessRoles,
    ClusterResources,
    ClusterNextid,
    ClusterTasks,
    ClusterStatus,
    HaResources,
    HaStatus,
    Nodes,
    NodeStatus,
    NodeStorage,
    NodeStorageStatus,
    StorageContent,
    StorageList,
    NodeNetwork,
    NodeTasks,
    TaskStatus,
    TaskLog,
    TaskStop,
    GuestList(GuestKind),
    GuestCreate(GuestKind),
    ConfigGet(GuestKind),
    ConfigPut(GuestKind),
    ConfigPostAsync,
    Pending(GuestKind),
    Clone(GuestKind),
    Template(GuestKind),
    StatusCurrent(GuestKind),
    Status(GuestKind, StatusAction),
    Resize(GuestKind),
    MoveDisk(GuestKind),
    Migrate(GuestKind),
    Delete(GuestKind),
    PoolsList,
    PoolsCreate,
    PoolsUpdate,
    PoolsDelete,
    PoolGet,
    PoolUpdate,
    PoolDelete,
}

pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    pub params: &'static [&'static str],
    pub required: &'static [&'static str],
    pub area: Area,
    pub handler: Handler,
    segments: Vec<Segment>,
}

enum Segment {
    Literal(&'static str),
    Capture(&'static str),
}

impl Route {
    /// The `{name}` parts of the path.
    pub fn path_params(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.segments.iter().filter_map(|s| match s {
            Segment::Capture(n) => Some(*n),
            Segment::Literal(_) => None,
        })
    }

    /// Matches `path` (segments already split) and returns the captures.
    fn matches<'a>(&self, segs: &[&'a str]) -> Option<Vec<(&'static str, &'a str)>> {
        if segs.len() != self.segments.len() {
            return None;
        }
        let mut caps = Vec::new();
        for (pat, seg) in self.segments.iter().zip(segs) {
            match pat {
                Segment::Literal(l) if l == seg => {}
                Segment::Literal(_) => return None,
                Segment::Capture(n) if !seg.is_empty() => caps.push((*n, *seg)),
                Segment::Capture(_) => return None,
            }
        }
        Some(caps)
    }
}

const QEMU_CONFIG_KEYS: &[&str] = &[
    "acpi",
    "affinity",
    "agent",
    "allow-ksm",
    "amd-sev",
    "arch",
    "args",
    "audio0",
    "autostart",
    "balloon",
    "bios",
    "boot",
    "bootdisk",
    "cdrom",
    "cicustom",
    "cipassword",
    "citype",
    "ciupgrade",
    "ciuser",
    "cores",
    "cpu",
    "cpulimit",
    "cpuunits",
    "description",
    "efidisk0",
    "force",
    "freeze",
    "hookscript",
    "hostpci[n]",
    "hotplug",
    "hugepages",
    "ide[n]",
    "intel-tdx",
    "ipconfig[n]",
    "ivshmem",
    "keephugepages",
    "keyboard",
    "kvm",
    "localtime",
    "lock",
    "machine",
    "memory",
    "migrate_downtime",
    "migrate_speed",
    "name",
    "nameserver",
    "net[n]",
    "numa",
    "numa[n]",
    "onboot",
    "ostype",
    "parallel[n]",
    "protection",
    "reboot",
    "rng0",
    "sata[n]",
    "scsi[n]",
    "scsihw",
    "searchdomain",
    "serial[n]",
    "shares",
    "smbios1",
    "smp",
    "sockets",
    "spice_enhancements",
    "sshkeys",
    "startdate",
    "startup",
    "tablet",
    "tags",
    "tdf",
    "template",
    "tpmstate0",
    "unused[n]",
    "usb[n]",
    "vcpus",
    "vga",
    "virtio[n]",
    "virtiofs[n]",
    "vmgenid",
    "vmstatestorage",
    "watchdog",
];
/// PVE's `option_exists`: whether `key` is a config option of a `kind` guest (what `delete` and
/// `revert` may name), including the options the API never sets.
pub fn option_exists(kind: GuestKind, key: &str) -> bool {
    let keys = match kind {
        GuestKind::Qemu => QEMU_CONFIG_KEYS,
        GuestKind::Lxc => LXC_CONFIG_KEYS,
    };
    let internal = match kind {
        GuestKind::Qemu => matches!(key, "meta" | "vmstate" | "runningmachine" | "runningcpu" | "parent" | "snaptime"),
        GuestKind::Lxc => matches!(key, "parent" | "snaptime"),
    };
    internal || (key != "force" && super::params::declared_in(keys, key))
}

const QEMU_CREATE_ONLY: &[&str] = &[
    "archive",
    "bwlimit",
    "ha-managed",
    "import-working-storage",
    "live-restore",
    "pool",
    "start",
    "storage",
    "unique",
];
const QEMU_UPDATE_ONLY: &[&str] = &["delete", "digest", "revert", "skiplock"];

const LXC_CONFIG_KEYS: &[&str] = &[
    "arch",
    "cmode",
    "console",
    "cores",
    "cpulimit",
    "cpuunits",
    "debug",
    "description",
    "dev[n]",
    "entrypoint",
    "env",
    "features",
    "hookscript",
    "hostname",
    "lock",
    "memory",
    "mp[n]",
    "nameserver",
    "net[n]",
    "onboot",
    "ostype",
    "protection",
    "rootfs",
    "searchdomain",
    "startup",
    "swap",
    "tags",
    "template",
    "timezone",
    "tty",
    "unprivileged",
    "unused[n]",
];
const LXC_CREATE_ONLY: &[&str] = &[
    "bwlimit",
    "force",
    "ha-managed",
    "ignore-unpack-errors",
    "ostemplate",
    "password",
    "pool",
    "restore",
    "ssh-public-keys",
    "start",
    "storage",
    "unique",
];
const LXC_UPDATE_ONLY: &[&str] = &["delete", "digest", "revert"];

fn concat(parts: &[&[&'static str]]) -> &'static [&'static str] {
    let v: Vec<&'static str> = parts.iter().flat_map(|p| p.iter().copied()).collect();
    Vec::leak(v)
}

fn route(
    method: &'static str,
    path: &'static str,
    params: &'static [&'static str],
    required: &'static [&'static str],
    area: Area,
    handler: Handler,
) -> Route {
    let segments = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some(name) => Segment::Capture(name),
            None => Segment::Literal(s),
        })
        .collect();
    Route { method, path, params, required, area, handler, segments }
}

static TABLE: LazyLock<Vec<Route>> = LazyLock::new(build);

fn build() -> Vec<Route> {
    use Area::*;
    use GuestKind::{Lxc as L, Qemu as Q};
    use Handler as H;
    let qemu_create = concat(&[QEMU_CONFIG_KEYS, QEMU_CREATE_ONLY, &["vmid"]]);
    let qemu_update = concat(&[QEMU_CONFIG_KEYS, QEMU_UPDATE_ONLY]);
    let qemu_update_async =
        concat(&[QEMU_CONFIG_KEYS, QEMU_UPDATE_ONLY, &["background_delay", "import-working-storage"]]);
    let lxc_create = concat(&[LXC_CONFIG_KEYS, LXC_CREATE_ONLY, &["vmid"]]);
    let lxc_update = concat(&[LXC_CONFIG_KEYS, LXC_UPDATE_ONLY]);
    let pool_update: &'static [&'static str] = &["poolid", "comment", "vms", "storage", "delete", "allow-move"];
    vec![
        route("GET", "/version", &[], &[], Other, H::Version),
        route(
            "POST",
            "/access/ticket",
            &["username", "password", "realm", "otp", "path", "privs", "new-format", "tfa-challenge"],
            &["username", "password"],
            Other,
            H::AccessTicket,
        ),
        route("GET", "/access/permissions", &["path", "userid"], &[], Other, H::AccessPermissions),
        route("GET", "/access/users", &["enabled", "full"], &[], Other, H::AccessUsers),
        route("GET", "/access/acl", &[], &[], Other, H::AccessAcl),
        route("GET", "/access/roles", &[], &[], Other, H::AccessRoles),
        route("GET", "/cluster/resources", &["type"], &[], Resources, H::ClusterResources),
        route("GET", "/cluster/nextid", &["vmid"], &[], Other, H::ClusterNextid),
        route("GET", "/cluster/tasks", &[], &[], Other, H::ClusterTasks),
        route("GET", "/cluster/status", &[], &[], Other, H::ClusterStatus),
        route("GET", "/cluster/ha/resources", &["type"], &[], Ha, H::HaResources),
        route("GET", "/cluster/ha/status/current", &[], &[], Other, H::HaStatus),
        route("GET", "/nodes", &[], &[], Other, H::Nodes),
        route("GET", "/nodes/{node}/status", &[], &[], Other, H::NodeStatus),
        route(
            "GET",
            "/nodes/{node}/storage",
            &["content", "enabled", "format", "storage", "target"],
            &[],
            Other,
            H::NodeStorage,
        ),
        route("GET", "/nodes/{node}/storage/{storage}/status", &[], &[], Other, H::NodeStorageStatus),
        route("GET", "/nodes/{node}/storage/{storage}/content", &["content", "vmid"], &[], Other, H::StorageContent),
        route("GET", "/storage", &["type"], &[], Other, H::StorageList),
        route("GET", "/nodes/{node}/network", &["type"], &[], Other, H::NodeNetwork),
        route(
            "GET",
            "/nodes/{node}/tasks",
            &[
                "errors",
                "limit",
                "since",
                "source",
                "start",
                "statusfilter",
                "typefilter",
                "until",
                "userfilter",
                "vmid",
            ],
            &[],
            Other,
            H::NodeTasks,
        ),
        route("GET", "/nodes/{node}/tasks/{upid}/status", &[], &[], Other, H::TaskStatus),
        route("GET", "/nodes/{node}/tasks/{upid}/log", &["start", "limit", "download"], &[], Other, H::TaskLog),
        route("DELETE", "/nodes/{node}/tasks/{upid}", &[], &[], Other, H::TaskStop),
        // qemu
        route("GET", "/nodes/{node}/qemu", &["full"], &[], Qemu, H::GuestList(Q)),
        route("POST", "/nodes/{node}/qemu", qemu_create, &["vmid"], Qemu, H::GuestCreate(Q)),
        route(
            "DELETE",
            "/nodes/{node}/qemu/{vmid}",
            &["purge", "destroy-unreferenced-disks", "skiplock"],
            &[],
            Qemu,
            H::Delete(Q),
        ),
        route("GET", "/nodes/{node}/qemu/{vmid}/config", &["current", "snapshot"], &[], Qemu, H::ConfigGet(Q)),
        route("PUT", "/nodes/{node}/qemu/{vmid}/config", qemu_update, &[], Qemu, H::ConfigPut(Q)),
        route("POST", "/nodes/{node}/qemu/{vmid}/config", qemu_update_async, &[], Qemu, H::ConfigPostAsync),
        route("GET", "/nodes/{node}/qemu/{vmid}/pending", &[], &[], Qemu, H::Pending(Q)),
        route(
            "POST",
            "/nodes/{node}/qemu/{vmid}/clone",
            &["newid", "name", "description", "full", "pool", "storage", "format", "target", "snapname", "bwlimit"],
            &["newid"],
            Qemu,
            H::Clone(Q),
        ),
        route("POST", "/nodes/{node}/qemu/{vmid}/template", &["disk"], &[], Qemu, H::Template(Q)),
        route("GET", "/nodes/{node}/qemu/{vmid}/status/current", &[], &[], Qemu, H::StatusCurrent(Q)),
        route(
            "POST",
            "/nodes/{node}/qemu/{vmid}/status/start",
            &[
                "skiplock",
                "timeout",
                "machine",
                "force-cpu",
                "migratedfrom",
                "migration_network",
                "migration_type",
                "nets-host-mtu",
                "stateuri",
                "targetstorage",
                "with-conntrack-state",
            ],
            &[],
            Qemu,
            H::Status(Q, StatusAction::Start),
        ),
        route(
            "POST",
            "/nodes/{node}/qemu/{vmid}/status/stop",
            &["skiplock", "timeout", "keepActive", "overrule-shutdown", "migratedfrom"],
            &[],
            Qemu,
            H::Status(Q, StatusAction::Stop),
        ),
        route(
            "POST",
            "/nodes/{node}/qemu/{vmid}/status/shutdown",
            &["skiplock", "timeout", "forceStop", "keepActive"],
            &[],
            Qemu,
            H::Status(Q, StatusAction::Shutdown),
        ),
        route(
            "POST",
            "/nodes/{node}/qemu/{vmid}/status/reboot",
            &["timeout"],
            &[],
            Qemu,
            H::Status(Q, StatusAction::Reboot),
        ),
        route(
            "PUT",
            "/nodes/{node}/qemu/{vmid}/resize",
            &["disk", "size", "digest", "skiplock"],
            &["disk", "size"],
            Qemu,
            H::Resize(Q),
        ),
        route(
            "POST",
            "/nodes/{node}/qemu/{vmid}/move_disk",
            &[
                "disk",
                "storage",
                "delete",
                "digest",
                "format",
                "bwlimit",
                "target-vmid",
                "target-disk",
                "target-digest",
            ],
            &["disk"],
            Qemu,
            H::MoveDisk(Q),
        ),
        route(
            "POST",
            "/nodes/{node}/qemu/{vmid}/migrate",
            &[
                "target",
                "online",
                "with-local-disks",
                "targetstorage",
                "force",
                "bwlimit",
                "migration_network",
                "migration_type",
                "with-conntrack-state",
            ],
            &["target"],
            Qemu,
            H::Migrate(Q),
        ),
        // lxc
        route("GET", "/nodes/{node}/lxc", &[], &[], Lxc, H::GuestList(L)),
        route("POST", "/nodes/{node}/lxc", lxc_create, &["vmid", "ostemplate"], Lxc, H::GuestCreate(L)),
        route(
            "DELETE",
            "/nodes/{node}/lxc/{vmid}",
            &["purge", "destroy-unreferenced-disks", "force"],
            &[],
            Lxc,
            H::Delete(L),
        ),
        route("GET", "/nodes/{node}/lxc/{vmid}/config", &["current", "snapshot"], &[], Lxc, H::ConfigGet(L)),
        route("PUT", "/nodes/{node}/lxc/{vmid}/config", lxc_update, &[], Lxc, H::ConfigPut(L)),
        route("GET", "/nodes/{node}/lxc/{vmid}/pending", &[], &[], Lxc, H::Pending(L)),
        route(
            "POST",
            "/nodes/{node}/lxc/{vmid}/clone",
            &["newid", "hostname", "description", "full", "pool", "storage", "target", "snapname", "bwlimit"],
            &["newid"],
            Lxc,
            H::Clone(L),
        ),
        route("POST", "/nodes/{node}/lxc/{vmid}/template", &[], &[], Lxc, H::Template(L)),
        route("GET", "/nodes/{node}/lxc/{vmid}/status/current", &[], &[], Lxc, H::StatusCurrent(L)),
        route(
            "POST",
            "/nodes/{node}/lxc/{vmid}/status/start",
            &["skiplock", "debug"],
            &[],
            Lxc,
            H::Status(L, StatusAction::Start),
        ),
        route(
            "POST",
            "/nodes/{node}/lxc/{vmid}/status/stop",
            &["skiplock", "overrule-shutdown"],
            &[],
            Lxc,
            H::Status(L, StatusAction::Stop),
        ),
        route(
            "POST",
            "/nodes/{node}/lxc/{vmid}/status/shutdown",
            &["timeout", "forceStop"],
            &[],
            Lxc,
            H::Status(L, StatusAction::Shutdown),
        ),
        route(
            "POST",
            "/nodes/{node}/lxc/{vmid}/status/reboot",
            &["timeout"],
            &[],
            Lxc,
            H::Status(L, StatusAction::Reboot),
        ),
        route(
            "PUT",
            "/nodes/{node}/lxc/{vmid}/resize",
            &["disk", "size", "digest"],
            &["disk", "size"],
            Lxc,
            H::Resize(L),
        ),
        route(
            "POST",
            "/nodes/{node}/lxc/{vmid}/move_volume",
            &["volume", "storage", "delete", "digest", "bwlimit", "target-vmid", "target-volume", "target-digest"],
            &["volume"],
            Lxc,
            H::MoveDisk(L),
        ),
        route(
            "POST",
            "/nodes/{node}/lxc/{vmid}/migrate",
            &["target", "online", "restart", "target-storage", "timeout", "bwlimit"],
            &["target"],
            Lxc,
            H::Migrate(L),
        ),
        // pools
        route("GET", "/pools", &["poolid", "type"], &[], Pool, H::PoolsList),
        route("POST", "/pools", &["poolid", "comment"], &["poolid"], Pool, H::PoolsCreate),
        route("PUT", "/pools", pool_update, &["poolid"], Pool, H::PoolsUpdate),
        route("DELETE", "/pools", &["poolid"], &["poolid"], Pool, H::PoolsDelete),
        route("GET", "/pools/{poolid}", &["type"], &[], Pool, H::PoolGet),
        route(
            "PUT",
            "/pools/{poolid}",
            &["comment", "vms", "storage", "delete", "allow-move"],
            &[],
            Pool,
            H::PoolUpdate,
        ),
        route("DELETE", "/pools/{poolid}", &[], &[], Pool, H::PoolDelete),
    ]
}

static SPECS: LazyLock<Vec<RouteSpec>> = LazyLock::new(|| {
    TABLE
        .iter()
        .map(|r| RouteSpec { method: r.method, path: r.path, params: r.params, permission: permission(r.handler) })
        .collect()
});

/// The routes the simulator serves, for conformance tests.
pub fn routes() -> &'static [RouteSpec] {
    &SPECS
}

/// The outcome of looking a request up.
pub enum Lookup {
    Found(&'static Route, Vec<(&'static str, String)>),
    /// The path exists with other methods.
    MethodNotAllowed,
    NotFound,
}

/// Finds the route for `method` and an API path (after `/api2/json`).
pub fn lookup(method: &str, path: &str) -> Lookup {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let mut path_exists = false;
    for r in TABLE.iter() {
        if let Some(caps) = r.matches(&segs) {
            if r.method == method {
                let caps = caps
                    .into_iter()
                    .map(|(n, v)| (n, percent_encoding::percent_decode_str(v).decode_utf8_lossy().into_owned()))
                    .collect();
                return Lookup::Found(r, caps);
            }
            path_exists = true;
        }
    }
    if path_exists {
        Lookup::MethodNotAllowed
    } else {
        Lookup::NotFound
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_upids_match_as_one_segment() {
        let p = "/nodes/pve1/tasks/UPID:pve1:00001234:00000001:6A4A8EED:qmcreate:100:root@pam!pmx:/status";
        match lookup("GET", p) {
            Lookup::Found(r, caps) => {
                assert_eq!(r.handler, Handler::TaskStatus);
                assert_eq!(caps[1].1, "UPID:pve1:00001234:00000001:6A4A8EED:qmcreate:100:root@pam!pmx:");
            }
            _ => panic!("no match"),
        }
        assert!(matches!(lookup("PATCH", "/version"), Lookup::MethodNotAllowed));
        assert!(matches!(lookup("GET", "/nope"), Lookup::NotFound));
    }

    #[test]
    fn every_route_is_unique() {
        let mut seen = std::collections::HashSet::new();
        for r in routes() {
            assert!(seen.insert((r.method, r.path)), "{} {} twice", r.method, r.path);
        }
    }
}
