#!/usr/bin/env bash
# pmx against Ansible's community.proxmox.proxmox_kvm on the same simulator: converge 20 VMs
# from nothing, then run again with nothing to do. Prints both tools' wall times and the ratio.
#
#   ./benches/ansible/run.sh            (release build; PMX_BIN=... to use another binary)
#
# Ansible, its community.proxmox collection and proxmoxer come from PyPI (`pip install ansible
# proxmoxer requests`) into a virtualenv under target/. Each tool gets a fresh simulator with
# zero-length tasks, so what is measured is the tool, not Proxmox.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
venv="$target/ansible-venv"
if [ ! -x "$venv/bin/ansible-playbook" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check ansible proxmoxer requests
fi
if [ -z "${PMX_BIN:-}" ]; then
  (cd "$root" && cargo build --quiet --release --bin pmx)
  PMX_BIN="$target/release/pmx"
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/pmx-ansible.XXXXXX")
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$work"' EXIT

sim() { # starts a fresh simulator, its environment in $work/$1.env
  "$PMX_BIN" sim serve --listen 127.0.0.1:0 --task-duration 0 >"$work/$1.env" 2>"$work/$1.log" &
  pids+=($!)
  for _ in $(seq 100); do grep -q PMX_FINGERPRINT "$work/$1.env" 2>/dev/null && break; sleep 0.1; done
}
now() { date +%s.%N; }
elapsed() { echo "$2 - $1" | bc; }

sim ansible
(
  # shellcheck disable=SC1091
  . "$work/ansible.env"
  export PVE_HOST=127.0.0.1 PVE_PORT=${PMX_ENDPOINT##*:} PVE_TOKEN_NAME=${PMX_TOKEN_ID##*!} PVE_TOKEN_SECRET=$PMX_TOKEN_SECRET
  export ANSIBLE_PYTHON_INTERPRETER="$venv/bin/python" ANSIBLE_HOST_KEY_CHECKING=False
  play() { "$venv/bin/ansible-playbook" -i localhost, "$here/converge.yml" >"$work/ansible-$1.log" 2>&1; }
  t0=$(now); play first; t1=$(now); play again; t2=$(now)
  grep -q "changed=1" "$work/ansible-first.log" && grep -q "changed=0" "$work/ansible-again.log" \
    || { cat "$work/ansible-first.log" "$work/ansible-again.log" >&2; exit 1; }
  echo "$(elapsed "$t0" "$t1") $(elapsed "$t1" "$t2")" >"$work/ansible.times"
)

sim pmx
mkdir "$work/project"
cp "$here/main.pmx" "$work/project/"
(
  # shellcheck disable=SC1091
  . "$work/pmx.env"
  apply() { "$PMX_BIN" -C "$work/project" apply --auto-approve >"$work/pmx-$1.log" 2>&1; }
  t0=$(now); apply first; t1=$(now); apply again; t2=$(now)
  grep -q "20 added" "$work/pmx-first.log" && grep -q "No changes" "$work/pmx-again.log" \
    || { cat "$work/pmx-first.log" "$work/pmx-again.log" >&2; exit 1; }
  echo "$(elapsed "$t0" "$t1") $(elapsed "$t1" "$t2")" >"$work/pmx.times"
)

read -r a1 a2 <"$work/ansible.times"
read -r p1 p2 <"$work/pmx.times"
printf '%-28s %10s %10s %8s\n' "" "Ansible" "pmx" "ratio"
printf '%-28s %9.2fs %9.2fs %7.0fx\n' "converge 20 VMs" "$a1" "$p1" "$(echo "$a1 / $p1" | bc -l)"
printf '%-28s %9.2fs %9.2fs %7.0fx\n' "again, nothing to do" "$a2" "$p2" "$(echo "$a2 / $p2" | bc -l)"
