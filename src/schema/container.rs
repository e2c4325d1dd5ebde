//! `container`: an LXC container. Parameters follow POST /nodes/{node}/lxc and
//! PUT /nodes/{node}/lxc/{vmid}/config. pve-container applies CPU, memory, network and mount
//! point changes to a running container live; most other options wait for its next start.

use super::build::{boolean, number, string, strings};
use super::build::{patterns, single, slotted};
use super::*;

/// Mount point slots: mp0-255.
pub const MOUNTPOINT_SLOTS: &str = r"^mp([0-9]|[1-9][0-9]|1[0-9][0-9]|2[0-4][0-9]|25[0-5])$";
/// NIC slots: net0-31.
pub const NET_SLOTS: &str = r"^net([0-9]|[12][0-9]|3[01])$";

const MOVE_VOLUME: &str = "POST /nodes/{node}/lxc/{vmid}/move_volume";
const RESIZE: &str = "PUT /nodes/{node}/lxc/{vmid}/resize";

const CONTAINER_EXAMPLE: &str = r#"resource "container" "dns" {
  node       = "pve1"
  hostname   = "dns"
  ostemplate = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"
  cores      = 1
  memory     = 512

  rootfs {
    storage = "local-lvm"
    size    = "8G"
  }

  mountpoint "mp0" {
    storage = "local-lvm"
    size    = "4G"
    path    = "/srv/dns"
  }

  network "net0" {
    bridge = "vmbr0"
    ip     = "10.0.0.53/24"
    gw     = "10.0.0.1"
  }

  features {
    nesting = true
  }
}
"#;

pub fn container() -> ResourceType {
    ResourceType {
        name: "container",
        kind: SchemaKind::Resource,
        description: "An LXC container, created from an OS template, with mount points and NICs keyed by their \
                      Proxmox slot.",
        attributes: attributes(),
        blocks: vec![rootfs(), mountpoint(), network(), features(), super::vm::startup()],
        example: CONTAINER_EXAMPLE,
        constraints: vec![
            Constraint::ExactlyOneOf { block: Some("mountpoint"), attributes: vec!["storage", "volume"] },
            Constraint::Requires { block: Some("mountpoint"), when: "storage", then: "size" },
        ],
    }
}

fn attributes() -> Vec<Attribute> {
    vec![
        string("node", "The node that runs the container. Changing it migrates the container (a running one is stopped, moved and started again).")
            .required()
            .pattern(patterns::NODE)
            .stopped()
            .pve("node")
            .changed_by(Call::Migrate, "POST /nodes/{node}/lxc/{vmid}/migrate"),
        number("vmid", "The container's id. When unset, pmx allocates the next free id.")
            .optional_computed()
            .replace()
            .range(100.0, 999_999_999.0)
            .pve("vmid"),
        string("hostname", "The host name inside the container (`CT<vmid>` when unset).")
            .pattern(patterns::DNS_NAME)
            .reboot()
            .pve("hostname"),
        string("description", "Notes shown in the container's summary (Markdown).").pve("description"),
        strings("tags", "Tags, shown in the web interface. Proxmox sorts them.").pattern(patterns::TAG).canon(Canon::Tags).pve("tags"),
        string("pool", "The pool the container belongs to.")
            .pattern(patterns::POOL_ID)
            .pve("pool")
            .changed_by(Call::Pool, "PUT /pools/{poolid}"),
        string("ostemplate", "The OS template to create from: `local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst`.")
            .required()
            .pattern(patterns::VOLUME)
            .replace()
            .canon(Canon::WriteOnly)
            .pve("ostemplate"),
        string("ostype", "The distribution, which decides how Proxmox sets up the container (detected from the template when unset).")
            .optional_computed()
            .one_of(&["debian", "devuan", "ubuntu", "centos", "fedora", "opensuse", "archlinux", "alpine", "gentoo", "nixos", "unmanaged"])
            .reboot()
            .pve("ostype"),
        string("arch", "CPU architecture of the template.")
            .default("amd64")
            .one_of(&["amd64", "i386", "arm64", "armhf", "riscv32", "riscv64"])
            .replace()
            .pve("arch"),
        number("cores", "CPU cores the container may use (all of the node's when unset). Applied live.")
            .range(1.0, 8192.0)
            .pve("cores"),
        number("cpulimit", "Limit of CPU time, in CPUs (0 = no limit). Applied live.")
            .default(0)
            .range(0.0, 8192.0)
            .pve("cpulimit"),
        number("cpuunits", "CPU weight against other guests. Applied live.").range(0.0, 500_000.0).pve("cpuunits"),
        number("memory", "Memory in MiB. Applied live.").default(512).range(16.0, 16_777_216.0).pve("memory"),
        number("swap", "Swap in MiB. Applied live.").default(512).range(0.0, 16_777_216.0).pve("swap"),
        boolean("unprivileged", "Run as an unprivileged user namespace (the safe choice). Cannot change after creation: file ownership in the root filesystem depends on it.")
            .default(true)
            .replace()
            .pve("unprivileged"),
        string("password", "Root password inside the container, set at creation only. Never printed by pmx.")
            .sensitive()
            .create_only()
            .pve("password"),
        strings("ssh_public_keys", "SSH public keys for root (OpenSSH format), installed at creation only.")
            .create_only()
            .canon(Canon::SshKeys).pve("ssh-public-keys"),
        string("nameserver", "DNS servers, space-separated (the host's when unset).").reboot().pve("nameserver"),
        string("searchdomain", "DNS search domains (the host's when unset).").reboot().pve("searchdomain"),
        string("timezone", "Time zone inside the container (`Europe/Paris`, or `host` to follow the node).")
            .reboot()
            .pve("timezone"),
        boolean("started", "Whether the container should be running. pmx starts it after creation and starts or shuts it down to match.")
            .default(true)
            .changed_by(Call::Power, "POST /nodes/{node}/lxc/{vmid}/status/start"),
        boolean("onboot", "Start the container when its node boots.").default(false).pve("onboot"),
        boolean("protection", "Refuse to remove the container or its volumes while set.").default(false).pve("protection"),
    ]
}

/// The attributes a root filesystem and a mount point share (`rootfs.acl` or `{slot}.acl`).
fn volume_options(rootfs: bool) -> Vec<Attribute> {
    let param = |slot: &'static str, root: &'static str| if rootfs { root } else { slot };
    vec![
        boolean("acl", "POSIX ACLs (the filesystem's default when unset).")
            .reboot()
            .pve(param("{slot}.acl", "rootfs.acl")),
        boolean("quota", "User quotas inside the container (privileged containers only).")
            .reboot()
            .pve(param("{slot}.quota", "rootfs.quota")),
        strings("mountoptions", "Extra mount options.")
            .one_of(&["discard", "lazytime", "noatime", "nodev", "noexec", "nosuid"])
            .reboot()
            .canon(Canon::Set(';'))
            .pve(param("{slot}.mountoptions", "rootfs.mountoptions")),
        boolean("replicate", "Include the volume in storage replication.")
            .default(true)
            .pve(param("{slot}.replicate", "rootfs.replicate")),
    ]
}

fn rootfs() -> BlockType {
    let mut attributes =
        vec![
        string(
            "storage",
            "The storage that holds the root filesystem. Changing it moves the volume (the container must be stopped).",
        )
        .required()
        .pattern(patterns::STORAGE_ID)
        .stopped()
        .canon(Canon::VolumeStorage).pve("rootfs.volume")
        .changed_by(Call::MoveDisk, MOVE_VOLUME),
        string("size", "Size: a number with K, M, G or T (`8G`). Growing is live; shrinking is refused.")
            .default("4G")
            .pattern(patterns::DISK_SIZE)
            .canon(Canon::Size).pve("rootfs.size")
            .changed_by(Call::Resize, RESIZE),
    ];
    attributes.extend(volume_options(true));
    single("rootfs", "The root filesystem.", attributes).required().update(UpdateMode::Reboot).pve("rootfs")
}

fn mountpoint() -> BlockType {
    let mut attributes = vec![
        string("path", "Where the volume appears inside the container: `/srv/data`.")
            .required()
            .pattern(r"^/.*$")
            .reboot()
            .pve("{slot}.mp"),
        string("storage", "The storage to allocate a new volume on (with `size`). Changing it moves the volume (the container must be stopped).")
            .pattern(patterns::STORAGE_ID)
            .stopped()
            .canon(Canon::VolumeStorage)
            .pve("{slot}.volume")
            .changed_by(Call::MoveDisk, MOVE_VOLUME),
        string("size", "Size of a new volume: `16G`. Growing is live; shrinking is refused.")
            .pattern(patterns::DISK_SIZE)
            .canon(Canon::Size).pve("{slot}.size")
            .changed_by(Call::Resize, RESIZE),
        string("volume", "An existing volume (`local-lvm:vm-200-disk-1`) or, for a bind mount, a host path (`/mnt/pool/media`). Computed when `storage` allocates one.")
            .optional_computed()
            .pattern(r"^(/.*|[A-Za-z][A-Za-z0-9\-_.]*:.+)$")
            .replace()
            .pve("{slot}.volume"),
        boolean("backup", "Include the volume in backups (mount points are excluded by default).")
            .default(false)
            .pve("{slot}.backup"),
        boolean("read_only", "Mount read-only.").default(false).reboot().pve("{slot}.ro"),
        boolean("shared", "The volume is on shared storage reachable from every node (no copy on migration).")
            .default(false)
            .pve("{slot}.shared"),
    ];
    attributes.extend(volume_options(false));
    slotted(
        "mountpoint",
        MOUNTPOINT_SLOTS,
        "mp0",
        "A mount point, labelled by its slot (mp0-255): a new volume (`storage` + `size`), an existing volume, or a \
         bind mount of a host path. Adding one to a running container is live.",
        attributes,
    )
    .update(UpdateMode::Live)
    .pve("mp[n]")
}

fn network() -> BlockType {
    slotted(
        "network",
        NET_SLOTS,
        "net0",
        "A network interface (a veth pair), labelled by its slot (net0-31). Changes, including addresses, are \
         applied to a running container live.",
        vec![
            string("name", "The interface name inside the container (`eth<N>` for slot `net<N>` when unset).")
                .optional_computed()
                .pattern(r"^[A-Za-z0-9_.\-]+$")
                .pve("{slot}.name"),
            string("bridge", "The bridge to attach to: `vmbr0`.")
                .required()
                .pattern(patterns::BRIDGE)
                .pve("{slot}.bridge"),
            string("ip", "IPv4: `dhcp`, `manual`, or an address in CIDR notation (`10.0.0.5/24`).")
                .pattern(r"^(dhcp|manual|\d{1,3}(\.\d{1,3}){3}/\d{1,2})$")
                .pve("{slot}.ip"),
            string("gw", "IPv4 gateway.").pattern(r"^\d{1,3}(\.\d{1,3}){3}$").pve("{slot}.gw"),
            string("ip6", "IPv6: `auto` (SLAAC), `dhcp`, `manual`, or an address in CIDR notation.")
                .pattern(r"^(auto|dhcp|manual|[0-9A-Fa-f:]+/\d{1,3})$")
                .pve("{slot}.ip6"),
            string("gw6", "IPv6 gateway.").pattern(r"^[0-9A-Fa-f:]+$").pve("{slot}.gw6"),
            number("tag", "VLAN tag on the bridge port.").range(1.0, 4094.0).pve("{slot}.tag"),
            string("trunks", "VLANs to trunk through the port: `10;20`.").pattern(r"^\d+(;\d+)*$").pve("{slot}.trunks"),
            boolean("firewall", "Filter the port with the Proxmox firewall.").default(false).pve("{slot}.firewall"),
            string("hwaddr", "MAC address. Proxmox generates one when unset; pmx reads it back and keeps it.")
                .optional_computed()
                .pattern(patterns::MAC)
                .canon(Canon::Mac)
                .pve("{slot}.hwaddr"),
            number("mtu", "MTU (the bridge's when unset).").range(64.0, 65_535.0).pve("{slot}.mtu"),
            number("rate", "Rate limit in MB/s.").range(0.0, 1e6).pve("{slot}.rate"),
            boolean("link_down", "Disconnect the interface.").default(false).pve("{slot}.link_down"),
        ],
    )
    .update(UpdateMode::Live)
    .pve("net[n]")
}

fn features() -> BlockType {
    single(
        "features",
        "Extra container features. Except `nesting` (and `keyctl`/`fuse` on unprivileged containers) they need \
         root@pam rather than an API token. Applied at the next start.",
        vec![
            boolean(
                "nesting",
                "Allow nested containers and systemd's sandboxing (recommended for systemd-based distributions).",
            )
            .default(false)
            .pve("features.nesting"),
            boolean("keyctl", "Allow the keyctl() system call (Docker inside unprivileged containers).")
                .default(false)
                .pve("features.keyctl"),
            boolean("fuse", "Allow FUSE filesystems.").default(false).pve("features.fuse"),
            boolean("mknod", "Allow mknod() of a safe set of device nodes (experimental).")
                .default(false)
                .pve("features.mknod"),
            boolean("force_rw_sys", "Mount /sys read-write in unprivileged containers.")
                .default(false)
                .pve("features.force_rw_sys"),
            strings("mount", "Filesystem types the container may mount (`nfs`, `cifs`...).")
                .pattern(r"^[A-Za-z0-9_]+$")
                .canon(Canon::Set(';'))
                .pve("features.mount"),
        ]
        .into_iter()
        .map(|a| a.reboot())
        .collect(),
    )
    .update(UpdateMode::Reboot)
}
