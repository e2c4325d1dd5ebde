//! Which privileges Proxmox checks for each operation, as qemu-server's
//! `check_vm_modify_config_perm`, pve-container's `check_ct_modify_config_perm` and the API
//! methods' `permissions` declare them. Pre-flight compares these with the token's effective
//! permissions before anything is changed.

/// The privilege a config key needs on `/vms/{vmid}` (any one of several, for cloud-init
/// keys). `None`: not a key a token may set through the normal checks.
pub fn config_key(resource_type: &str, key: &str) -> &'static [&'static str] {
    let base = key.trim_end_matches(|c: char| c.is_ascii_digit());
    if resource_type == "container" {
        return match base {
            "cores" | "cpulimit" | "cpuunits" => &["VM.Config.CPU"],
            "memory" | "swap" => &["VM.Config.Memory"],
            "rootfs" | "mp" => &["VM.Config.Disk"],
            "net" | "nameserver" | "searchdomain" => &["VM.Config.Network"],
            _ => &["VM.Config.Options"],
        };
    }
    match base {
        "cores" | "cpu" | "cpulimit" | "cpuunits" | "numa" | "smp" | "sockets" | "vcpus" | "affinity" => {
            &["VM.Config.CPU"]
        }
        "memory" | "balloon" | "shares" => &["VM.Config.Memory"],
        "acpi" | "hotplug" | "kvm" | "machine" | "scsihw" | "smbios" | "tablet" | "vga" | "watchdog" | "audio"
        | "rng" | "serial" => &["VM.Config.HWType"],
        "boot" | "bootdisk" | "vmstatestorage" | "ide" | "sata" | "scsi" | "virtio" | "efidisk" | "tpmstate"
        | "unused" => &["VM.Config.Disk"],
        "net" => &["VM.Config.Network"],
        "cicustom" | "cipassword" | "citype" | "ciuser" | "ciupgrade" | "nameserver" | "searchdomain" | "sshkeys"
        | "ipconfig" => &["VM.Config.Cloudinit", "VM.Config.Network"],
        _ => &["VM.Config.Options"],
    }
}

/// A CD-ROM key needs `VM.Config.CDROM` rather than `VM.Config.Disk` (qemu-server checks the
/// drive's `media`).
pub fn drive_privilege(value: &str) -> &'static [&'static str] {
    if value.contains("media=cdrom") {
        &["VM.Config.CDROM"]
    } else {
        &["VM.Config.Disk"]
    }
}

pub const ALLOCATE: &str = "VM.Allocate";
pub const CLONE: &str = "VM.Clone";
pub const MIGRATE: &str = "VM.Migrate";
pub const POWER: &str = "VM.PowerMgmt";
pub const SPACE: &str = "Datastore.AllocateSpace";
pub const POOL_ALLOCATE: &str = "Pool.Allocate";
pub const CONFIG_DISK: &str = "VM.Config.Disk";
/// A NIC's bridge: `SDN.Use` on `/sdn/zones/localnetwork/{bridge}` (PVE 8+'s
/// `check_bridge_access`).
pub const SDN_USE: &str = "SDN.Use";

pub fn bridge_path(bridge: &str) -> String {
    format!("/sdn/zones/localnetwork/{bridge}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_map_to_their_groups() {
        assert_eq!(config_key("vm", "cores"), &["VM.Config.CPU"]);
        assert_eq!(config_key("vm", "net1"), &["VM.Config.Network"]);
        assert_eq!(config_key("vm", "scsi0"), &["VM.Config.Disk"]);
        assert_eq!(config_key("vm", "ipconfig0"), &["VM.Config.Cloudinit", "VM.Config.Network"]);
        assert_eq!(config_key("container", "mp3"), &["VM.Config.Disk"]);
        assert_eq!(config_key("container", "hostname"), &["VM.Config.Options"]);
        assert_eq!(drive_privilege("local:iso/x.iso,media=cdrom"), &["VM.Config.CDROM"]);
    }
}
