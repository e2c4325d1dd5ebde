//! `vm`: a QEMU guest. Parameters follow POST /nodes/{node}/qemu and
//! PUT /nodes/{node}/qemu/{vmid}/config. Update modes follow qemu-server: options outside its
//! hot-plug set go to "pending" and take effect at the next boot (`Reboot`); `hotplug` names the
//! feature that makes a change live.

use super::build::{boolean, number, string, strings};
use super::build::{patterns, single, slotted};
use super::*;

/// Disk slots: scsi0-30, virtio0-15, sata0-5, ide0-3.
pub const DISK_SLOTS: &str = r"^(scsi([0-9]|[12][0-9]|30)|virtio([0-9]|1[0-5])|sata[0-5]|ide[0-3])$";
/// NIC slots: net0-31.
pub const NET_SLOTS: &str = r"^net([0-9]|[12][0-9]|3[01])$";

const MIGRATE: &str = "POST /nodes/{node}/qemu/{vmid}/migrate";
const MOVE_DISK: &str = "POST /nodes/{node}/qemu/{vmid}/move_disk";
const RESIZE: &str = "PUT /nodes/{node}/qemu/{vmid}/resize";

/// `ipconfig0` .. `ipconfig31`, one per NIC slot (attribute names are static strings).
const IPCONFIG: [&str; 32] = [
    "ipconfig0",
    "ipconfig1",
    "ipconfig2",
    "ipconfig3",
    "ipconfig4",
    "ipconfig5",
    "ipconfig6",
    "ipconfig7",
    "ipconfig8",
    "ipconfig9",
    "ipconfig10",
    "ipconfig11",
    "ipconfig12",
    "ipconfig13",
    "ipconfig14",
    "ipconfig15",
    "ipconfig16",
    "ipconfig17",
    "ipconfig18",
    "ipconfig19",
    "ipconfig20",
    "ipconfig21",
    "ipconfig22",
    "ipconfig23",
    "ipconfig24",
    "ipconfig25",
    "ipconfig26",
    "ipconfig27",
    "ipconfig28",
    "ipconfig29",
    "ipconfig30",
    "ipconfig31",
];

/// `ip=dhcp`, `ip=10.0.0.5/24,gw=10.0.0.1`, `ip6=auto`...: comma-separated ip/gw/ip6/gw6 keys.
const IPCONFIG_PATTERN: &str = r"^(ip|gw|ip6|gw6)=[0-9A-Za-z.:/]+(,(ip|gw|ip6|gw6)=[0-9A-Za-z.:/]+)*$";

const VM_EXAMPLE: &str = r#"data "template" "debian12" {
  name = "debian-12-cloud"
}

resource "vm" "web" {
  node = "pve1"
  name = "web-1"
  tags = ["web"]

  clone {
    source = data.template.debian12.vmid
  }

  cpu {
    cores = 2
  }

  memory {
    size = 2048
  }

  disk "scsi0" {
    storage = "local-lvm"
    size    = "32G"
    discard = true
  }

  network "net0" {
    bridge = "vmbr0"
    tag    = 20
  }

  cloud_init {
    user      = "deploy"
    ssh_keys  = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE7QlPbG0nGQWh1kWmCz8a1l9rQZ1bY0G2d3qV5fXxYh deploy"]
    ipconfig0 = "ip=dhcp"
  }

  agent   = true
  started = true
}
"#;

pub fn vm() -> ResourceType {
    ResourceType {
        name: "vm",
        kind: SchemaKind::Resource,
        description: "A QEMU/KVM virtual machine: created empty or cloned from a template, with disks, NICs and \
                      cloud-init keyed by their Proxmox slot.",
        attributes: attributes(),
        blocks: vec![
            clone(),
            cpu(),
            memory(),
            disk(),
            cdrom(),
            network(),
            cloud_init(),
            efi_disk(),
            serial(),
            vga(),
            startup(),
        ],
        example: VM_EXAMPLE,
        constraints: vec![
            Constraint::OnlyInSlots { block: "disk", attribute: "ssd", slots: r"^(scsi|sata|ide)\d+$" },
            Constraint::OnlyInSlots { block: "disk", attribute: "iothread", slots: r"^(scsi|virtio)\d+$" },
        ],
    }
}

fn attributes() -> Vec<Attribute> {
    vec![
        string("node", "The node that runs the guest. Changing it migrates the guest online (local disks move with it).")
            .required()
            .pattern(patterns::NODE)
            .pve("node")
            .changed_by(Call::Migrate, MIGRATE),
        number("vmid", "The guest's id. When unset, pmx allocates the next free id (reserved in state so that concurrent runs never collide).")
            .optional_computed()
            .replace()
            .range(100.0, 999_999_999.0)
            .pve("vmid"),
        string("name", "The guest's name (a DNS name). Proxmox shows `VM <vmid>` when unset.")
            .pattern(patterns::DNS_NAME)
            .pve("name"),
        string("description", "Notes shown in the guest's summary (Markdown).").pve("description"),
        strings("tags", "Tags, shown in the web interface and usable in `data` lookups. Proxmox sorts them.")
            .pattern(patterns::TAG)
            .canon(Canon::Tags).pve("tags"),
        string("pool", "The pool the guest belongs to. Changing it moves the guest between pools.")
            .pattern(patterns::POOL_ID)
            .pve("pool")
            .changed_by(Call::Pool, "PUT /pools/{poolid}"),
        boolean("started", "Whether the guest should be running. pmx starts it after creation and starts or shuts it down to match.")
            .default(true)
            .changed_by(Call::Power, "POST /nodes/{node}/qemu/{vmid}/status/start"),
        boolean("onboot", "Start the guest when its node boots.").default(false).pve("onboot"),
        boolean("protection", "Refuse to remove the guest or its disks while set (pmx destroy fails too).")
            .default(false)
            .pve("protection"),
        boolean("agent", "Talk to the QEMU guest agent (IP addresses, clean shutdown, fs-freeze on backup).")
            .default(false)
            .reboot()
            .pve("agent.enabled"),
        string("bios", "Firmware: SeaBIOS or OVMF (UEFI; add an `efi_disk`).")
            .default("seabios")
            .one_of(&["seabios", "ovmf"])
            .reboot()
            .pve("bios"),
        string("machine", "Machine type: `pc` (i440fx), `q35`, or a pinned version such as `pc-q35-9.0`.")
            .pattern(r"^(pc|q35|pc-(i440fx-|q35-)?\d+(\.\d+)+(\+pve\d+)?(\.pxe)?|virt(-\d+(\.\d+)+)?(\+pve\d+)?)$")
            .canon(Canon::MachineType)
            .reboot()
            .pve("machine.type"),
        string("scsihw", "SCSI controller model. `virtio-scsi-single` gives each disk its own controller (needed for `iothread`).")
            .default("lsi")
            .one_of(&["lsi", "lsi53c810", "virtio-scsi-pci", "virtio-scsi-single", "megasas", "pvscsi"])
            .reboot()
            .pve("scsihw"),
        string("ostype", "Guest operating system, which tunes defaults: `l26` for Linux 2.6+, `win11`...")
            .default("other")
            .one_of(&["other", "wxp", "w2k", "w2k3", "w2k8", "wvista", "win7", "win8", "win10", "win11", "l24", "l26", "solaris"])
            .reboot()
            .pve("ostype"),
        strings("boot", "Boot order: device slots tried in turn, e.g. `[\"scsi0\", \"net0\"]`.")
            .pattern(r"^(scsi\d+|virtio\d+|sata\d+|ide\d+|net\d+|efidisk0|hostpci\d+|usb\d+)$")
            .reboot()
            .canon(Canon::List(';')).pve("boot.order"),
        strings("hotplug", "Hot-plug features: which changes reach a running guest without a reboot. `cpu` hot-plugs `cpu.vcpus`; `memory` needs `numa = true`. A change is live, except turning `memory` on or off (next boot).")
            .default(vec!["network", "disk", "usb"])
            .one_of(&["network", "disk", "cpu", "memory", "usb", "cloudinit"])
            .canon(Canon::Set(','))
            .pve("hotplug"),
        boolean("numa", "Expose NUMA topology to the guest (required for memory hot-plug).")
            .default(false)
            .reboot()
            .pve("numa"),
        boolean("kvm", "Hardware virtualisation. Turn off only for nested setups without VT-x/AMD-V.")
            .default(true)
            .reboot()
            .pve("kvm"),
        boolean("tablet", "A USB tablet device, for an absolute pointer in the console.")
            .default(true)
            .hotplug("usb")
            .pve("tablet"),
    ]
}

fn clone() -> BlockType {
    single(
        "clone",
        "Create the guest as a clone of a template (or another guest) instead of an empty VM. Used only at creation: \
         to rebuild from a new template, replace the guest (`pmx apply --replace`).",
        vec![
            number("source", "The vmid of the template to clone, typically `data.template.<name>.vmid`.")
                .required()
                .range(100.0, 999_999_999.0)
                .pve("vmid"),
            boolean("full", "A full copy of every disk. `false` makes a linked clone of a template (fast, shares the base image; the template cannot be removed while clones exist).")
                .default(true)
                .pve("full"),
            string("storage", "Target storage for a full clone's disks (default: the template's storage).")
                .pattern(patterns::STORAGE_ID)
                .pve("storage"),
            string("format", "Disk format of a full clone on file-based storage.")
                .one_of(&["raw", "qcow2", "vmdk"])
                .pve("format"),
        ]
        .into_iter()
        .map(|a| a.create_only())
        .collect(),
    )
    .update(UpdateMode::CreateOnly)
}

fn cpu() -> BlockType {
    single(
        "cpu",
        "Virtual CPUs. `cores * sockets` is the most the guest may have; `vcpus` the number plugged in.",
        vec![
            number("cores", "Cores per socket. A running guest picks a change up at its next boot (QEMU cannot change topology live).")
                .default(1)
                .range(1.0, 8192.0)
                .reboot()
                .pve("cores"),
            number("sockets", "CPU sockets.").default(1).range(1.0, 64.0).reboot().pve("sockets"),
            number("vcpus", "vCPUs plugged in at start (at most `cores * sockets`). Live with `cpu` in `hotplug`.")
                .optional_computed()
                .range(1.0, 8192.0)
                .hotplug("cpu")
                .pve("vcpus"),
            string("type", "Emulated CPU model: `host`, `x86-64-v2-AES`, `kvm64`... (Proxmox's own default is `kvm64`).")
                .pattern(r"^[A-Za-z0-9_.+\-]+$")
                .reboot()
                .pve("cpu.cputype"),
            number("limit", "Limit of CPU time, in CPUs (0 = no limit). Applied live through the cgroup.")
                .default(0)
                .range(0.0, 128.0)
                .pve("cpulimit"),
            number("units", "CPU weight against other guests (cgroup v2 clamps to 1-10000). Applied live.")
                .range(1.0, 262_144.0)
                .pve("cpuunits"),
            string("affinity", "Host cores the guest may run on, e.g. `0-3,8`.")
                .pattern(r"^\d+(-\d+)?(,\d+(-\d+)?)*$")
                .reboot()
                .pve("affinity"),
        ],
    )
    .update(UpdateMode::Reboot)
}

fn memory() -> BlockType {
    single(
        "memory",
        "Memory, in MiB.",
        vec![
            number("size", "Memory in MiB. Live with `memory` in `hotplug` (and `numa = true`), else after a reboot.")
                .default(512)
                .range(16.0, 16_777_216.0)
                .hotplug("memory")
                .pve("memory.current"),
            number("balloon", "Minimum memory in MiB the balloon driver may shrink the guest to; `0` disables the balloon device (that change needs a reboot). Applied live.")
                .optional_computed()
                .range(0.0, 16_777_216.0)
                .pve("balloon"),
            number("shares", "Weight for auto-ballooning against other guests.")
                .default(1000)
                .range(0.0, 50_000.0)
                .pve("shares"),
        ],
    )
}

fn disk() -> BlockType {
    let throttle = |name, pve, what| number(name, what).range(0.0, 1e9).pve(pve);
    slotted(
        "disk",
        DISK_SLOTS,
        "scsi0",
        "A virtual disk, labelled by its slot: scsi0-30, virtio0-15, sata0-5, ide0-3. Adding or removing a scsi or \
         virtio disk is live (hot-plug `disk`); sata and ide disks change at the next boot.",
        vec![
            string("storage", "The storage that holds the disk. Required for a new disk; for a disk that came with a clone, changing it moves the disk online.")
                .optional_computed()
                .pattern(patterns::STORAGE_ID)
                .canon(Canon::VolumeStorage)
                .pve("{slot}.file")
                .changed_by(Call::MoveDisk, MOVE_DISK),
            string("size", "Size: a number with K, M, G or T (`32G`). Growing is live; shrinking is refused (Proxmox cannot shrink disks).")
                .required()
                .pattern(patterns::DISK_SIZE)
                .canon(Canon::Size).pve("{slot}.size")
                .changed_by(Call::Resize, RESIZE),
            string("format", "Image format on file-based storage (block storage is always raw). Changing it converts the disk online.")
                .optional_computed()
                .canon(Canon::VolumeFormat)
                .one_of(&["raw", "qcow2", "vmdk"])
                .pve("{slot}.format")
                .changed_by(Call::MoveDisk, MOVE_DISK),
            string("import_from", "Create the disk from an existing image, e.g. a cloud image: `local:import/debian-12.qcow2`.")
                .pattern(patterns::VOLUME)
                .create_only()
                .pve("{slot}.import-from"),
            string("cache", "Host cache mode.")
                .default("none")
                .one_of(&["none", "writethrough", "writeback", "unsafe", "directsync"])
                .reboot()
                .pve("{slot}.cache"),
            boolean("discard", "Pass TRIM/discard to the storage (thin provisioning reclaims space).")
                .default(false)
                .canon(Canon::Switch { on: "on", off: "ignore" })
                .reboot()
                .pve("{slot}.discard"),
            boolean("ssd", "Present the disk as an SSD (scsi, sata, ide; not virtio).").default(false).reboot().pve("{slot}.ssd"),
            boolean("iothread", "A dedicated I/O thread (virtio, or scsi with `scsihw = \"virtio-scsi-single\"`).")
                .default(false)
                .reboot()
                .pve("{slot}.iothread"),
            string("aio", "Asynchronous I/O mode.").one_of(&["native", "threads", "io_uring"]).reboot().pve("{slot}.aio"),
            boolean("backup", "Include the disk in backups.").default(true).pve("{slot}.backup"),
            boolean("replicate", "Include the disk in storage replication.").default(true).pve("{slot}.replicate"),
            throttle("mbps_rd", "{slot}.mbps_rd", "Read limit in MB/s (live)."),
            throttle("mbps_wr", "{slot}.mbps_wr", "Write limit in MB/s (live)."),
            throttle("iops_rd", "{slot}.iops_rd", "Read limit in operations per second (live)."),
            throttle("iops_wr", "{slot}.iops_wr", "Write limit in operations per second (live)."),
        ],
    )
    .update(UpdateMode::Live)
    .pve("scsi[n]|virtio[n]|sata[n]|ide[n]")
}

fn cdrom() -> BlockType {
    slotted(
        "cdrom",
        r"^(ide[0-3]|sata[0-5]|scsi([0-9]|[12][0-9]|30))$",
        "ide2",
        "A CD-ROM drive, labelled by its slot (ide0-3, sata0-5, scsi0-30). Adding one takes effect at the next boot; \
         changing the inserted ISO is live.",
        vec![string(
            "iso",
            "The ISO volume (`local:iso/debian-12.iso`), `none` for an empty drive, or `cdrom` for the host's drive.",
        )
        .required()
        .pattern(r"^(none|cdrom|[A-Za-z][A-Za-z0-9\-_.]*:.+)$")
        .pve("{slot}.file")],
    )
    .update(UpdateMode::Reboot)
    .pve("ide[n]|sata[n]|scsi[n]")
    .fixed(&[("media", "cdrom")])
}

fn network() -> BlockType {
    let nic = |a: Attribute| a.hotplug("network");
    slotted(
        "network",
        NET_SLOTS,
        "net0",
        "A network interface, labelled by its slot (net0-31), so adding one never renumbers the others. Changes are \
         live with `network` hot-plug (the default); a new model, MAC, MTU or queue count re-plugs the NIC.",
        vec![
            nic(string("model", "NIC model. `virtio` is fastest; `e1000` for guests without virtio drivers.")
                .default("virtio")
                .one_of(&["virtio", "e1000", "e1000e", "rtl8139", "vmxnet3"])
                .pve("{slot}.model")),
            nic(string("bridge", "The bridge to attach to (`vmbr0`). Without one the NIC uses QEMU's user-mode NAT.")
                .pattern(patterns::BRIDGE)
                .pve("{slot}.bridge")),
            nic(number("tag", "VLAN tag on the bridge port.").range(1.0, 4094.0).pve("{slot}.tag")),
            nic(string("trunks", "VLANs to trunk through the port: `10;20-30`.")
                .pattern(patterns::TRUNKS)
                .pve("{slot}.trunks")),
            nic(boolean("firewall", "Filter the port with the Proxmox firewall.")
                .default(false)
                .pve("{slot}.firewall")),
            nic(string(
                "mac",
                "MAC address. Proxmox generates one (`BC:24:11:...`) when unset; pmx reads it back and keeps it.",
            )
            .optional_computed()
            .pattern(patterns::MAC)
            .canon(Canon::Mac)
            .pve("{slot}.macaddr")),
            nic(number("mtu", "MTU (virtio only); `1` uses the bridge's MTU.").range(1.0, 65_520.0).pve("{slot}.mtu")),
            nic(number("rate", "Rate limit in MB/s (0 = unlimited).").range(0.0, 1e6).pve("{slot}.rate")),
            nic(number("queues", "Multiqueue: packet queues (virtio only).").range(0.0, 64.0).pve("{slot}.queues")),
            nic(boolean("link_down", "Disconnect the NIC, as if the cable were unplugged.")
                .default(false)
                .pve("{slot}.link_down")),
        ],
    )
    .update(UpdateMode::Live)
    .pve("net[n]")
}

fn cloud_init() -> BlockType {
    let mut attributes = vec![
        string(
            "user",
            "The user to create and give the SSH keys and password to (the image's default user when unset).",
        )
        .pve("ciuser"),
        string("password", "The user's password. Prefer `ssh_keys`; never printed by pmx.")
            .sensitive()
            .pve("cipassword"),
        strings("ssh_keys", "Public SSH keys (OpenSSH format), e.g. `[file(\"keys/deploy.pub\")]`.")
            .canon(Canon::SshKeys)
            .pve("sshkeys"),
        string("nameserver", "DNS servers, space-separated (the host's when unset).").pve("nameserver"),
        string("searchdomain", "DNS search domains (the host's when unset).").pve("searchdomain"),
        boolean("upgrade", "Upgrade packages on first boot.").default(true).pve("ciupgrade"),
        string(
            "type",
            "Cloud-init data format (Proxmox picks by `ostype`: `nocloud` for Linux, `configdrive2` for Windows).",
        )
        .one_of(&["nocloud", "configdrive2", "opennebula"])
        .pve("citype"),
        string("storage", "Storage for the cloud-init drive (default: the storage of the first disk).")
            .pattern(patterns::STORAGE_ID),
        string("drive", "The slot of the cloud-init drive.")
            .default("ide2")
            .pattern(r"^(ide[0-3]|sata[0-5]|scsi([0-9]|[12][0-9]|30))$"),
    ];
    attributes.extend(IPCONFIG.iter().map(|name| {
        string(
            name,
            "IP configuration of the NIC in the matching slot: `ip=dhcp`, `ip=10.0.0.5/24,gw=10.0.0.1`, `ip6=auto`.",
        )
        .pattern(IPCONFIG_PATTERN)
        .pve("ipconfig[n]")
    }));
    single(
        "cloud_init",
        "Cloud-init settings, written to a cloud-init drive. The guest reads them at boot (most of them only at its \
         first boot), so a change reaches a running guest at its next reboot.",
        attributes.into_iter().map(|a| a.reboot()).collect(),
    )
    .update(UpdateMode::Reboot)
}

fn efi_disk() -> BlockType {
    single(
        "efi_disk",
        "The EFI vars disk that `bios = \"ovmf\"` needs (Secure Boot keys, boot entries).",
        vec![
            string("storage", "The storage that holds it. Changing it moves the disk.")
                .required()
                .pattern(patterns::STORAGE_ID)
                .canon(Canon::VolumeStorage).pve("efidisk0.file")
                .changed_by(Call::MoveDisk, MOVE_DISK),
            string("type", "Size of the OVMF vars; `4m` is needed for Secure Boot (pmx creates `4m`; Proxmox's own default is `2m`).")
                .default("4m")
                .one_of(&["2m", "4m"])
                .create_only()
                .pve("efidisk0.efitype"),
            boolean("pre_enrolled_keys", "Enrol the distribution and Microsoft Secure Boot keys (Secure Boot on).")
                .default(false)
                .create_only()
                .pve("efidisk0.pre-enrolled-keys"),
        ],
    )
    .update(UpdateMode::Reboot)
}

fn serial() -> BlockType {
    slotted(
        "serial",
        r"^serial[0-3]$",
        "serial0",
        "A serial port, labelled by its slot (serial0-3). Cloud images log to `serial0`; with `vga { type = \"serial0\" }` \
         it becomes the console.",
        vec![string("device", "`socket` (a console reachable through `qm terminal` and the web interface) or a host device such as `/dev/ttyS0`.")
            .required()
            .pattern(r"^(socket|/dev/.+)$")
            .reboot()
            .pve("{slot}")],
    )
    .update(UpdateMode::Reboot)
    .pve("serial[n]")
}

fn vga() -> BlockType {
    single(
        "vga",
        "The display adapter.",
        vec![
            string("type", "Display type: `std`, `virtio`, `qxl` (SPICE), `serial0` (a serial console), `none`...")
                .default("std")
                .one_of(&[
                    "std",
                    "virtio",
                    "virtio-gl",
                    "qxl",
                    "qxl2",
                    "qxl3",
                    "qxl4",
                    "vmware",
                    "cirrus",
                    "serial0",
                    "serial1",
                    "serial2",
                    "serial3",
                    "none",
                ])
                .pve("vga.type"),
            number("memory", "Video memory in MiB.").range(4.0, 512.0).pve("vga.memory"),
        ]
        .into_iter()
        .map(|a| a.reboot())
        .collect(),
    )
    .update(UpdateMode::Reboot)
}

/// `startup { order, up, down }`, shared by vm and container.
pub(super) fn startup() -> BlockType {
    single(
        "startup",
        "Start and shutdown order on the node, with `onboot = true`.",
        vec![
            number("order", "Start position (lower starts first; shutdown runs in reverse).")
                .range(0.0, 1e9)
                .pve("startup.order"),
            number("up", "Seconds to wait after starting this guest before starting the next.")
                .range(0.0, 1e9)
                .pve("startup.up"),
            number("down", "Seconds to wait for this guest to shut down before stopping it.")
                .range(0.0, 1e9)
                .pve("startup.down"),
        ],
    )
}
