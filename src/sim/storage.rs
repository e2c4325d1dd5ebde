//! Storage rules as pve-storage has them: which storages can be used on a node
//! (`storage_check_enabled`), which are thin (volumes take space only as data is written, so
//! they over-commit) and which are thick (a volume takes its whole size when allocated, and
//! allocation fails when the storage is full, with the plugin's own message).

use super::model::{Cluster, StorageDef};

/// pve-storage's `storage_check_enabled` (`storage_config`, then `storage_check_node`).
pub fn check_enabled<'a>(c: &'a Cluster, sid: &str, node: Option<&str>) -> Result<&'a StorageDef, String> {
    let def = c.storages.get(sid).ok_or_else(|| format!("storage '{sid}' does not exist"))?;
    if def.disable {
        return Err(format!("storage '{sid}' is disabled"));
    }
    if let Some(node) = node {
        if !def.on_node(node) {
            return Err(format!("storage '{sid}' is not available on node '{node}'"));
        }
    }
    Ok(def)
}

impl StorageDef {
    /// Whether a new volume takes no space until written:
    /// - `lvmthin` and `rbd` always (thin pools, sparse RBD images);
    /// - `zfspool`/`zfs` only with `sparse` (`zfs create -s`; without it a zvol reserves its size);
    /// - file storages (`dir`, `nfs`, `cifs`, `cephfs`, `btrfs`, `glusterfs`) unless
    ///   `preallocation` is `falloc` or `full` (qemu-img creates sparse raw and qcow2 files);
    /// - never `lvm` (thick LVs) or iSCSI LUNs.
    pub fn is_thin(&self) -> bool {
        match self.plugintype.as_str() {
            "lvmthin" | "rbd" => true,
            "zfspool" | "zfs" => self.sparse,
            "lvm" | "iscsi" | "iscsidirect" => false,
            _ => !matches!(self.preallocation.as_deref(), Some("falloc" | "full")),
        }
    }
}

/// Why a thick storage cannot take a volume of `need` bytes with `free` left, as the plugin's
/// allocation reports it (the task error after the caller's prefix).
pub fn out_of_space(def: &StorageDef, volid: &str, need: u64, free: u64) -> String {
    let name = volid.split_once(':').map_or(volid, |(_, n)| n);
    match def.plugintype.as_str() {
        // LVMPlugin::lvcreate runs `lvcreate` with errmsg "lvcreate '$vg/$name' error"; its
        // last stderr line is LVM's (4 MiB extents).
        "lvm" => {
            let vg = def.vgname.as_deref().unwrap_or("pve");
            let extent = 4u64 << 20;
            format!(
                "lvcreate '{vg}/{name}' error:   Volume group \"{vg}\" has insufficient free space ({} extents): {} required.",
                free / extent,
                need.div_ceil(extent)
            )
        }
        // ZFSPoolPlugin::zfs_create_zvol: `zfs create -V` fails with ZFS's "out of space".
        "zfspool" | "zfs" => {
            let pool = def.path.as_deref().unwrap_or("rpool/data");
            format!("zfs error: cannot create '{pool}/{name}': out of space")
        }
        // Plugin::alloc_image: `qemu-img create -o preallocation=...` with errmsg
        // "unable to create image".
        _ => {
            let path = def.path.as_deref().unwrap_or("/var/lib/vz");
            format!(
                "unable to create image: qemu-img: {path}/images/{name}: Could not preallocate data for the new file: No space left on device"
            )
        }
    }
}

/// Why a thick storage cannot grow a volume by `need` bytes with `free` left, as the plugin's
/// `volume_resize` reports it.
pub fn resize_out_of_space(def: &StorageDef, volid: &str, need: u64, free: u64) -> String {
    let name = volid.split_once(':').map_or(volid, |(_, n)| n);
    match def.plugintype.as_str() {
        // LVMPlugin::volume_resize: `lvextend` with errmsg "error resizing volume '$path'".
        "lvm" => {
            let vg = def.vgname.as_deref().unwrap_or("pve");
            let extent = 4u64 << 20;
            format!(
                "error resizing volume '/dev/{vg}/{name}': Insufficient free space: {} extents needed, but only {} available",
                need.div_ceil(extent),
                free / extent
            )
        }
        "zfspool" | "zfs" => {
            let pool = def.path.as_deref().unwrap_or("rpool/data");
            format!("zfs error: cannot set property for '{pool}/{name}': size is greater than available space")
        }
        _ => {
            let path = def.path.as_deref().unwrap_or("/var/lib/vz");
            format!("qemu-img: {path}/images/{name}: Could not resize image: No space left on device")
        }
    }
}
