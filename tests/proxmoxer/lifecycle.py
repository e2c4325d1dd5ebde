"""Drives the pmx simulator with proxmoxer (the real third-party PVE client) through a lifecycle.

Run by tests/proxmoxer.rs with PMX_ENDPOINT, PMX_TOKEN_ID, PMX_TOKEN_SECRET and PMX_PASSWORD set.
Exits non-zero (with the step that failed) on any mismatch.
"""
import os
import sys
import urllib.parse

import urllib3
from proxmoxer import ProxmoxAPI, ResourceException
from proxmoxer.tools import Tasks

urllib3.disable_warnings()

endpoint = urllib.parse.urlparse(os.environ["PMX_ENDPOINT"])
host, port = endpoint.hostname, endpoint.port or 8006
token_user, token_name = os.environ["PMX_TOKEN_ID"].split("!", 1)
step = "start"


def check(cond, what):
    if not cond:
        raise AssertionError(f"{step}: {what}")


def wait(px, upid):
    status = Tasks.blocking_status(px, upid, timeout=60, polling_interval=0.05)
    check(status is not None, f"task {upid} did not finish")
    check(status["status"] == "stopped", f"task {upid}: {status}")
    # "WARNINGS: N" is success with warnings, as on real PVE (vzcreate often warns).
    exit = status.get("exitstatus", "")
    check(exit == "OK" or exit.startswith("WARNINGS:"), f"task {upid} failed: {status}")
    return status


def lifecycle(px, prefix, vmid_base):
    global step
    step = f"{prefix}: version"
    check("version" in px.version.get(), "version")

    step = f"{prefix}: nodes"
    nodes = sorted(n["node"] for n in px.nodes.get())
    check(nodes == ["pve1", "pve2", "pve3"], f"nodes {nodes}")

    step = f"{prefix}: find template"
    vms = px.cluster.resources.get(type="vm")
    tpl = [v for v in vms if v.get("template") == 1 and v.get("name") == "debian-12-cloud"]
    check(len(tpl) == 1, f"template in {vms}")
    tpl_node, tpl_id = tpl[0]["node"], tpl[0]["vmid"]
    check(isinstance(tpl_id, int), "vmid in /cluster/resources is a number")

    step = f"{prefix}: nextid"
    nextid = px.cluster.nextid.get()
    check(isinstance(nextid, str) and int(nextid) >= 100, f"nextid {nextid!r} is a string")

    vmid = vmid_base
    step = f"{prefix}: create qemu {vmid}"
    upid = px.nodes("pve1").qemu.post(
        vmid=vmid, name=f"{prefix}-vm", memory=1024, cores=1, net0="virtio,bridge=vmbr0", scsi0="local-lvm:4"
    )
    check(upid.startswith("UPID:pve1:"), f"upid {upid}")
    wait(px, upid)

    step = f"{prefix}: read config"
    vm = px.nodes("pve1").qemu(vmid)
    cfg = vm.config.get()
    check(cfg["name"] == f"{prefix}-vm", f"config {cfg}")
    check(cfg["net0"].startswith("virtio=") and "bridge=vmbr0" in cfg["net0"], f"net0 {cfg['net0']}")
    check(cfg["scsi0"] == f"local-lvm:vm-{vmid}-disk-0,size=4G", f"scsi0 {cfg['scsi0']}")

    step = f"{prefix}: change config with digest"
    vm.config.put(cores=2, description="changed by proxmoxer", digest=cfg["digest"])
    cfg2 = vm.config.get()
    check(int(cfg2["cores"]) == 2, f"cores {cfg2}")
    try:
        vm.config.put(cores=3, digest=cfg["digest"])
        check(False, "a stale digest must be refused")
    except ResourceException as e:
        check(e.status_code in (400, 500), f"stale digest status {e.status_code}")

    step = f"{prefix}: clone from template"
    clone_id = vmid + 1
    upid = px.nodes(tpl_node).qemu(tpl_id).clone.post(newid=clone_id, name=f"{prefix}-clone", full=1)
    wait(px, upid)
    check(px.nodes(tpl_node).qemu(clone_id).config.get()["name"] == f"{prefix}-clone", "clone name")

    step = f"{prefix}: start/stop"
    wait(px, vm.status.start.post())
    check(vm.status.current.get()["status"] == "running", "running after start")
    wait(px, vm.status.stop.post())
    check(vm.status.current.get()["status"] == "stopped", "stopped after stop")

    step = f"{prefix}: pools"
    pool = f"{prefix}-pool"
    px.pools.post(poolid=pool, comment="proxmoxer pool")
    px.pools(pool).put(vms=str(vmid))
    members = px.pools(pool).get()["members"]
    check(any(m.get("vmid") == vmid for m in members), f"members {members}")
    px.pools(pool).put(vms=str(vmid), delete=1)
    px.pools(pool).delete()
    check(all(p["poolid"] != pool for p in px.pools.get()), "pool deleted")

    step = f"{prefix}: lxc"
    ct = vmid + 2
    wait(
        px,
        px.nodes("pve2").lxc.post(
            vmid=ct,
            hostname=f"{prefix}-ct",
            ostemplate="local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst",
            rootfs="local-lvm:2",
            net0="name=eth0,bridge=vmbr0,ip=dhcp",
        ),
    )
    check(px.nodes("pve2").lxc(ct).config.get()["hostname"] == f"{prefix}-ct", "lxc hostname")
    wait(px, px.nodes("pve2").lxc(ct).delete())

    step = f"{prefix}: delete"
    wait(px, vm.delete(purge=1))
    wait(px, px.nodes(tpl_node).qemu(clone_id).delete())
    try:
        vm.config.get()
        check(False, "a deleted VM has no config")
    except ResourceException as e:
        check(e.status_code == 500 and "does not exist" in str(e), f"deleted VM: {e}")


def main():
    token = ProxmoxAPI(
        host, port=port, user=token_user, token_name=token_name,
        token_value=os.environ["PMX_TOKEN_SECRET"], verify_ssl=False,
    )
    lifecycle(token, "tok", 500)
    password = ProxmoxAPI(host, port=port, user="root@pam", password=os.environ["PMX_PASSWORD"], verify_ssl=False)
    lifecycle(password, "pw", 600)
    print("proxmoxer lifecycle: ok (token and password auth)")


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # report the step, not just a traceback
        print(f"FAILED at {step}: {type(e).__name__}: {e}", file=sys.stderr)
        raise
