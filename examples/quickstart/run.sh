#!/usr/bin/env bash
# pmx end to end on its embedded defaults: the built-in Proxmox VE simulator and SQLite state.
#
#   ./examples/quickstart/run.sh
#
# Builds pmx, starts `pmx sim serve` (HTTPS, self-signed certificate pinned by fingerprint),
# validates this example and prints its dependency graph, plans and applies it (a pool and a VM
# cloned from a template), changes the VM behind pmx's back, plans and applies the fix, then
# shows the state and its audit trail. Nothing is written to the repository:
# the project is copied to a temporary folder, which is printed so you can look around.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
[ -n "${NO_COLOR:-}" ] && step() { printf '\n==> %s\n' "$*"; }

step "Building pmx"
(cd "$root" && cargo build --quiet --bin pmx)
pmx="$target/debug/pmx"

work=$(mktemp -d "${TMPDIR:-/tmp}/pmx-quickstart.XXXXXX")
cp "$here"/*.pmx "$work"/
sim_out="$work/sim.env"

step "Starting the simulator: pmx sim serve --listen 127.0.0.1:0"
"$pmx" sim serve --listen 127.0.0.1:0 --task-duration 100 >"$sim_out" 2>"$work/sim.log" &
sim_pid=$!
trap 'kill $sim_pid 2>/dev/null || true; wait $sim_pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q PMX_FINGERPRINT "$sim_out" 2>/dev/null && break; sleep 0.1; done
grep -q PMX_FINGERPRINT "$sim_out" || { cat "$work/sim.log" >&2; echo "the simulator did not start" >&2; exit 1; }
sed 's/\(PMX_TOKEN_SECRET=\).*/\1<redacted>/' "$sim_out"
# shellcheck disable=SC1090
. "$sim_out"

step "pmx validate"
"$pmx" -C "$work" validate

step "pmx graph --resources-only"
"$pmx" -C "$work" graph --resources-only

step "pmx plan --out plan.out: what would change on the cluster"
"$pmx" -C "$work" plan --out "$work/plan.out"

step "pmx apply plan.out: carry out exactly that plan (state in $work/.pmx/state.db)"
"$pmx" -C "$work" apply "$work/plan.out"

step "pmx plan again: nothing to do"
"$pmx" -C "$work" plan --detailed-exitcode

step "Someone gives the VM more cores by hand, outside pmx"
python3 - <<'PY'
import json, os, ssl, urllib.parse, urllib.request
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
auth = {"Authorization": "PVEAPIToken=%s=%s" % (os.environ["PMX_TOKEN_ID"], os.environ["PMX_TOKEN_SECRET"])}
api = os.environ["PMX_ENDPOINT"] + "/api2/json"
vms = json.load(urllib.request.urlopen(urllib.request.Request(api + "/cluster/resources?type=vm", headers=auth), context=ctx))["data"]
vm = next(v for v in vms if v.get("name") == "hello")
req = urllib.request.Request("%s/nodes/%s/qemu/%d/config" % (api, vm["node"], vm["vmid"]), method="PUT",
    data=urllib.parse.urlencode({"cores": "4"}).encode(), headers=auth)
print("PUT cores=4 on vmid", vm["vmid"], "->", json.load(urllib.request.urlopen(req, context=ctx)))
PY

step "pmx plan: the drift is found, with what fixing it does to the running guest"
"$pmx" -C "$work" plan --out "$work/fix.out" || true

step "pmx apply fix.out"
"$pmx" -C "$work" apply "$work/fix.out"

step "pmx state list"
"$pmx" -C "$work" state list

step "pmx state history vm.hello"
"$pmx" -C "$work" state history vm.hello

printf '\nDone. The project and its state are in %s\n' "$work"
