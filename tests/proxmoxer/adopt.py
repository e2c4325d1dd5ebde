"""Makes a few varied guests on the pmx simulator with proxmoxer (the real third-party PVE client),
the way a cluster pmx has never seen was built: for tests/plan/import.rs, which then runs
`pmx import` and insists that the next plan is empty.

Run with PMX_ENDPOINT, PMX_TOKEN_ID and PMX_TOKEN_SECRET set. Exits non-zero (with the step that
failed) on any error.
"""
import os
import sys
import urllib.parse

import urllib3
from proxmoxer import ProxmoxAPI
from proxmoxer.tools import Tasks

urllib3.disable_warnings()

endpoint = urllib.parse.urlparse(os.environ["PMX_ENDPOINT"])
token_user, token_name = os.environ["PMX_TOKEN_ID"].split("!", 1)
step = "start"


def wait(px, upid):
    status = Tasks.blocking_status(px, upid, timeout=60, polling_interval=0.05)
    exit = (status or {}).get("exitstatus", "")
    if not (exit == "OK" or exit.startswith("WARNINGS:")):
        raise AssertionError(f"{step}: task {upid}: {status}")


def main():
    global step
    px = ProxmoxAPI(
        endpoint.hostname, port=endpoint.port or 8006, user=token_user, token_name=token_name,
        token_value=os.environ["PMX_TOKEN_SECRET"], verify_ssl=False,
    )
    step = "pool"
    px.pools.post(poolid="px-apps", comment="made with proxmoxer")

    step = "vm with disks, NICs, VLANs and cloud-init"
    wait(px, px.nodes("pve1").qemu.post(
        vmid=800, name="px-web", memory=2048, cores=2, cpu="x86-64-v2-AES", ostype="l26",
        scsihw="virtio-scsi-single", agent="1", onboot=1, tags="Prod;web",
        scsi0="local-lvm:4,discard=on,iothread=1,ssd=1", scsi1="local-lvm:8,backup=0",
        virtio0="local-lvm:2,cache=writeback",
        net0="virtio,bridge=vmbr0,tag=10", net1="e1000,bridge=vmbr0,tag=20,firewall=1",
        ide2="local-lvm:cloudinit", ciuser="admin", ipconfig0="ip=10.0.0.5/24,gw=10.0.0.1",
        ipconfig1="ip=dhcp", nameserver="1.1.1.1", serial0="socket", boot="order=scsi0;net0",
        description="the web tier",
    ))
    wait(px, px.nodes("pve1").qemu(800).status.start.post())

    step = "linked clone in a pool"
    template = [v for v in px.cluster.resources.get(type="vm") if v.get("template") == 1][0]
    wait(px, px.nodes(template["node"]).qemu(template["vmid"]).clone.post(
        newid=801, name="px-linked", full=0, pool="px-apps",
    ))
    px.nodes(template["node"]).qemu(801).config.put(cores=4, tags="zeta;Alpha")

    step = "container with mount points and features"
    wait(px, px.nodes("pve2").lxc.post(
        vmid=810, hostname="px-ct", ostemplate="local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst",
        rootfs="local-lvm:2", mp0="local-lvm:4,mp=/srv/data,backup=1", mp1="local-lvm:1,mp=/var/log/app",
        features="nesting=1", unprivileged=1, memory=1024, swap=256, cores=2,
        net0="name=eth0,bridge=vmbr0,ip=dhcp,tag=40", pool="px-apps", onboot=1,
    ))
    wait(px, px.nodes("pve2").lxc(810).status.start.post())

    step = "stopped container on another node"
    wait(px, px.nodes("pve3").lxc.post(
        vmid=811, hostname="px-idle", ostemplate="local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst",
        rootfs="local-lvm:1", net0="name=eth0,bridge=vmbr0,ip=10.0.1.9/24,gw=10.0.1.1", unprivileged=1,
    ))
    print("proxmoxer adopt: ok")


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # report the step, not just a traceback
        print(f"FAILED at {step}: {type(e).__name__}: {e}", file=sys.stderr)
        raise
