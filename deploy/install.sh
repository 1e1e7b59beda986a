#!/usr/bin/env bash
# Installs nodefit on this node: the binary, the systemd unit, the config
# (never replacing an existing one), and nodefit's host in containerd's
# hosts.toml files (`nodefit hosts install`). Then prints what to change in
# containerd, kubelet and crictl; it restarts none of them. Idempotent; run
# again with a new binary to upgrade. deploy/uninstall.sh undoes it exactly.
#
# Environment (defaults in brackets):
#   NODEFIT_ROOT       install into this root [/]; the paths below are inside it
#   NODEFIT_BINDIR     the binary's directory [/usr/local/bin]
#   NODEFIT_ETCDIR     the config's directory [/etc/nodefit]
#   NODEFIT_UNITDIR    the unit's directory [/etc/systemd/system]
#   NODEFIT_CERTS_DIR  containerd's config_path [/etc/containerd/certs.d]
#   NODEFIT_ADDRESS    nodefit's registry host, as http.listen says
#                      [https://127.0.0.1:505]
#   NODEFIT_BINARY     the binary to install [../build/plugin/nodefit from
#                      this script, else ./nodefit beside it]
# systemctl runs only when NODEFIT_ROOT is / and systemd is running.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=${NODEFIT_ROOT:-/}
root=${root%/}  # "/" becomes "", so "$root$path" is never "//etc".
bindir=${NODEFIT_BINDIR:-/usr/local/bin}
etcdir=${NODEFIT_ETCDIR:-/etc/nodefit}
unitdir=${NODEFIT_UNITDIR:-/etc/systemd/system}
certs_dir=${NODEFIT_CERTS_DIR:-/etc/containerd/certs.d}
address=${NODEFIT_ADDRESS:-https://127.0.0.1:505}
binary=${NODEFIT_BINARY:-}
if [ -z "$binary" ]; then
  binary=$here/../build/plugin/nodefit
  [ -x "$binary" ] || binary=$here/nodefit
fi

say() { echo "install.sh: $*"; }
die() { echo "install.sh: error: $*" >&2; exit 1; }

[ -x "$binary" ] || die "no nodefit binary at $binary (set NODEFIT_BINARY)"
"$binary" version >/dev/null || die "$binary does not run"
if [ -z "$root" ] && [ "$(id -u)" -ne 0 ]; then
  die "installing into / needs root"
fi

# What this script created or replaced, so uninstall.sh removes exactly that:
# one line per path, "KIND<TAB>SHA256<TAB>PATH", KIND being dir, created
# (a file that was absent) or replaced (its original is PATH.nodefit-backup),
# PATH inside NODEFIT_ROOT (so an image prepared in a root uninstalls in /).
state=$root$etcdir/.nodefit-install
declare -a lines=()
if [ -f "$state" ]; then mapfile -t lines < <(grep -v '^$' "$state"); fi

recorded() {  # PATH -> its line's kind, or nothing
  local line path=${1#"$root"}
  for line in "${lines[@]}"; do
    if [ "${line##*$'\t'}" = "$path" ]; then echo "${line%%$'\t'*}"; return; fi
  done
}
record() {  # KIND SUM PATH: add, or replace the line for PATH
  local i path=${3#"$root"}
  for i in "${!lines[@]}"; do
    if [ "${lines[$i]##*$'\t'}" = "$path" ]; then
      lines[i]="$1"$'\t'"$2"$'\t'"$path"; save; return
    fi
  done
  lines+=("$1"$'\t'"$2"$'\t'"$path"); save
}
save() {  # atomically; the state file's own directory is recorded first
  [ -d "${state%/*}" ] || return 0
  if [ "${#lines[@]}" -gt 0 ]; then
    printf '%s\n' "${lines[@]}"
  fi >"$state.tmp"
  mv "$state.tmp" "$state"
}
sum() { sha256sum "$1" | cut -d' ' -f1; }

make_dir() {  # DIR: mkdir -p, recording each directory it creates
  local dir=$1 parent
  [ -d "$dir" ] && return 0
  parent=${dir%/*}
  make_dir "${parent:-/}"
  mkdir -m 0755 "$dir"
  record dir - "$dir"
}

changed=0
place() {  # SRC DEST MODE: put SRC at DEST unless it is already there
  local src=$1 dest=$2 mode=$3 kind
  make_dir "${dest%/*}"
  kind=$(recorded "$dest")
  if [ -e "$dest" ] && cmp -s "$src" "$dest"; then
    # Ours gets its mode back; someone else's identical file stays theirs.
    if [ -n "$kind" ]; then chmod "$mode" "$dest"; fi
    say "$dest: up to date"
    return
  fi
  if [ -z "$kind" ] && [ -e "$dest" ]; then
    # Not ours: keep the original for uninstall.sh to put back.
    cp -p "$dest" "$dest.nodefit-backup"
    kind=replaced
  fi
  install -m "$mode" "$src" "$dest.nodefit-new"
  # Recorded before the rename: an interrupted run leaves nothing unrecorded.
  record "${kind:-created}" "$(sum "$dest.nodefit-new")" "$dest"
  mv "$dest.nodefit-new" "$dest"
  changed=1
  say "$dest: installed"
}

# The state file lives in ETCDIR: create that first so every later step is
# recorded as it happens.
make_dir "$root$etcdir"
save

place "$binary" "$root$bindir/nodefit" 0755

config=$root$etcdir/config.json
if [ -e "$config" ]; then
  say "$config: kept (an existing config is never replaced)"
else
  # It may come to hold registry passwords: root's only.
  place "$here/config.json" "$config" 0600
fi

unit=$(mktemp)
trap 'rm -f "$unit"' EXIT
sed -e "s|/usr/local/bin/nodefit|$bindir/nodefit|" \
    -e "s|/etc/nodefit/config.json|$etcdir/config.json|" \
    -e "s|/etc/containerd/certs.d|$certs_dir|" \
    "$here/systemd/nodefit.service" >"$unit"
place "$unit" "$root$unitdir/nodefit.service" 0644

# The node's PKI for the resolver face's mutual TLS (kept if there is one;
# uninstall.sh removes the one it made).
pki=$root$etcdir/pki
if [ ! -e "$pki" ]; then
  record pki - "$pki"
  "$root$bindir/nodefit" pki init --dir "$pki" >/dev/null
  say "$pki: created (the node CA, nodefit's and containerd's certificates)"
else
  say "$pki: kept"
fi

# Serve first, so containerd finds nodefit once its host is in hosts.toml.
if [ -z "$root" ] && [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  # An upgrade (new binary or unit) restarts a running nodefit.
  if [ "$changed" = 1 ] && systemctl -q is-active nodefit.service; then
    systemctl restart nodefit.service
  fi
  systemctl enable --now nodefit.service
  say "nodefit.service enabled and running"
else
  say "systemctl skipped (root is ${root:-/}; systemd running: $(
    [ -d /run/systemd/system ] && echo yes || echo no))"
fi

# `hosts install` needs the directory; created here, it is removed again
# by uninstall.sh when empty.
make_dir "$root$certs_dir"
pki_flags=()
case $address in https://*) pki_flags=(--pki-dir "$pki") ;; esac
"$root$bindir/nodefit" hosts install --certs-dir "$root$certs_dir" \
  --address "$address" "${pki_flags[@]}"

containerd_config=$root/etc/containerd/config.toml
cat <<EOF

nodefit is installed. What install.sh does not change:

containerd: its config_path must be $certs_dir
  (deploy/containerd/config-v2.toml for containerd 1.6/1.7; config-v3.toml
  for 2.x, with the transfer service's unpack_config); restart containerd
  once after setting it. hosts.toml changes need no restart.
EOF
if [ -f "$containerd_config" ] && ! grep -q config_path "$containerd_config"
then
  echo "  $containerd_config has no config_path yet."
fi
cat <<EOF

The hosts.toml face needs nothing else: kubelet keeps talking to containerd,
  and containerd asks nodefit for tags.

The CRI face (also chooses for images pinned by digest) needs, by hand:
  kubelet: in its KubeletConfiguration (kubeadm: /var/lib/kubelet/config.yaml)
      imageServiceEndpoint: unix:///run/nodefit/cri.sock
    keeping containerRuntimeEndpoint at containerd's socket
    (deploy/kubelet/kubelet-config.yaml; kubelet older than 1.27:
    --image-service-endpoint=unix:///run/nodefit/cri.sock), then
      systemctl restart kubelet
  crictl: in /etc/crictl.yaml (deploy/crictl.yaml)
      runtime-endpoint: unix:///run/containerd/containerd.sock
      image-endpoint: unix:///run/nodefit/cri.sock
  (the socket is cri.listen in $etcdir/config.json)
EOF
