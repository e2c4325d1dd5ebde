//! Facts about how Proxmox lays out a guest's config that no single attribute can state: which
//! key a bare leading value of a property string belongs to, and which config keys a slotted
//! block claims (a `media=cdrom` drive is a CD-ROM, not a disk).

/// The key a bare leading value of the property string `param` belongs to (`memory: 2048` is
/// `current=2048`; `scsi0: local-lvm:vm-100-disk-0,size=8G` starts with its `file`).
pub fn default_key(resource_type: &str, param: &str) -> Option<&'static str> {
    let base = param.trim_end_matches(|c: char| c.is_ascii_digit());
    match (resource_type, base) {
        ("vm", "memory") => Some("current"),
        ("vm", "agent") => Some("enabled"),
        ("vm", "cpu") => Some("cputype"),
        ("vm", "machine" | "vga") => Some("type"),
        ("vm", "startup") | ("container", "startup") => Some("order"),
        ("vm", "efidisk" | "scsi" | "virtio" | "sata" | "ide") => Some("file"),
        ("container", "rootfs" | "mp") => Some("volume"),
        _ => None,
    }
}

/// The NIC models QEMU offers; in `netN` the model is the key of the MAC (`virtio=BC:..`).
pub const QEMU_NIC_MODELS: &[&str] = &[
    "virtio", "e1000", "e1000e", "rtl8139", "vmxnet3", "ne2k_pci", "pcnet", "i82551", "i82557b", "i82559er", "ne2k_isa",
];

/// Whether the config entry `value` under a slot belongs to the block `block`: disks and
/// CD-ROM drives share the `ide`/`sata`/`scsi` slots and differ by `media=cdrom`; the
/// cloud-init drive is a CD-ROM that belongs to `cloud_init`, not to `cdrom`.
pub fn slot_claims(block: &str, value: &str) -> bool {
    let cdrom = value.split(',').any(|kv| kv == "media=cdrom");
    let cloudinit = value.split(',').next().is_some_and(|f| f.contains("cloudinit"));
    match block {
        "disk" => !cdrom && !cloudinit,
        "cdrom" => cdrom && !cloudinit,
        _ => true,
    }
}

/// Whether a config key is one of a slotted block's parameters: `scsi[n]|virtio[n]` matches
/// `scsi3` and `virtio0`.
pub fn param_matches(pattern: &str, key: &str) -> bool {
    pattern.split('|').any(|p| match p.strip_suffix("[n]") {
        Some(prefix) => {
            key.strip_prefix(prefix).is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
        }
        None => p == key,
    })
}

/// Whether adding or removing a disk in `slot` reaches a running guest at once: scsi and virtio
/// disks hot-plug (with `disk` in `hotplug`), ide and sata ones wait for the next boot.
pub fn disk_slot_hotplugs(slot: &str) -> bool {
    slot.starts_with("scsi") || slot.starts_with("virtio")
}

/// Values a new guest gets where pmx's default is not the API's: PVE's API creates a
/// privileged container unless told `unprivileged=1` (the web interface sends it).
pub fn create_defaults(resource_type: &str) -> &'static [(&'static str, &'static str)] {
    match resource_type {
        "container" => &[("unprivileged", "1")],
        _ => &[],
    }
}

/// Whether a storage allocates space as it is written (LVM-thin, Ceph RBD, a sparse ZFS pool,
/// files that start sparse) rather than all at once (thick LVM, iSCSI LUNs, a ZFS pool without
/// `sparse`, which reserves each volume's size, a directory with `preallocation=falloc|full`):
/// over-commit is normal on the first, refused by the second when the space is not there.
pub fn thin_provisioned(plugin: &str, sparse: bool, preallocation: Option<&str>) -> bool {
    match plugin {
        "lvm" | "iscsi" | "iscsidirect" => false,
        "zfspool" => sparse,
        "dir" | "nfs" | "cifs" | "glusterfs" | "btrfs" | "cephfs" => !matches!(preallocation, Some("falloc" | "full")),
        _ => true,
    }
}

/// The storage content a volume of this block needs (`images` for VM disks, `rootdir` for
/// container volumes).
pub fn content_for(resource_type: &str) -> &'static str {
    if resource_type == "container" {
        "rootdir"
    } else {
        "images"
    }
}
