#!/usr/bin/env bash
# Undoes deploy/install.sh exactly: takes nodefit's host out of containerd's
# hosts.toml files (`nodefit hosts remove`, which restores them byte for
# byte), stops and disables the unit, and removes what install.sh recorded
# as its own in ETCDIR/.nodefit-install: the files it created (unless
# changed since), the originals it replaced put back, the directories it
# created (when empty). Idempotent. Takes the same NODEFIT_ROOT,
# NODEFIT_BINDIR, NODEFIT_ETCDIR, NODEFIT_CERTS_DIR and NODEFIT_BINARY as
# install.sh (NODEFIT_BINARY only when the installed binary is gone).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=${NODEFIT_ROOT:-/}
root=${root%/}
bindir=${NODEFIT_BINDIR:-/usr/local/bin}
etcdir=${NODEFIT_ETCDIR:-/etc/nodefit}
certs_dir=${NODEFIT_CERTS_DIR:-/etc/containerd/certs.d}
state=$root$etcdir/.nodefit-install

say() { echo "uninstall.sh: $*"; }
die() { echo "uninstall.sh: error: $*" >&2; exit 1; }
sum() { sha256sum "$1" | cut -d' ' -f1; }

if [ -z "$root" ] && [ "$(id -u)" -ne 0 ]; then
  die "uninstalling from / needs root"
fi

cat <<EOF
uninstall.sh: if kubelet's imageServiceEndpoint or crictl's image-endpoint
  point at nodefit's socket (unix:///run/nodefit/cri.sock), point them back at
  unix:///run/containerd/containerd.sock and restart kubelet: until then
  kubelet cannot pull images.
EOF

# 1. containerd stops asking nodefit before nodefit stops answering.
if [ -e "$root$certs_dir/.nodefit-hosts.json" ]; then
  binary=$root$bindir/nodefit
  if [ ! -x "$binary" ]; then
    binary=${NODEFIT_BINARY:-$here/../build/plugin/nodefit}
  fi
  [ -x "$binary" ] || die "nodefit's host is in $root$certs_dir but no" \
    "nodefit binary is left to remove it (set NODEFIT_BINARY)"
  "$binary" hosts remove --certs-dir "$root$certs_dir"
else
  say "$root$certs_dir: no nodefit host to remove"
fi

# 2. Stop it.
systemd=no
if [ -z "$root" ] && [ -d /run/systemd/system ]; then systemd=yes; fi
if [ "$systemd" = yes ]; then
  if systemctl cat nodefit.service >/dev/null 2>&1; then
    systemctl disable --now nodefit.service
  fi
else
  say "systemctl skipped (root is ${root:-/}; systemd running: $(
    [ -d /run/systemd/system ] && echo yes || echo no))"
fi

# 3. Remove what install.sh added: files newest first, then directories
# deepest (last created) first, the state file just before them.
if [ ! -f "$state" ]; then
  say "$state: absent, nothing else to remove"
  exit 0
fi
mapfile -t lines < <(grep -v '^$' "$state")
dirs=()
for ((i = ${#lines[@]} - 1; i >= 0; i--)); do
  IFS=$'\t' read -r kind recorded_sum path <<<"${lines[$i]}"
  path=$root$path
  case $kind in
    dir) dirs+=("$path") ;;
    pki)
      rm -rf "$path"
      say "$path: removed (the node CA and certificates install.sh made)"
      ;;
    created)
      if [ ! -e "$path" ]; then
        :
      elif [ "$(sum "$path")" = "$recorded_sum" ]; then
        rm -f "$path"
        say "$path: removed"
      else
        say "$path: kept (changed since install)"
      fi
      ;;
    replaced)
      if [ -e "$path" ] && [ "$(sum "$path")" != "$recorded_sum" ]; then
        say "$path: kept (changed since install);" \
          "the original is $path.nodefit-backup"
      elif [ -e "$path.nodefit-backup" ]; then
        mv "$path.nodefit-backup" "$path"
        say "$path: original restored"
      fi
      ;;
    *) die "$state: unknown line: ${lines[$i]}" ;;
  esac
done
rm -f "$state"
for path in "${dirs[@]}"; do
  if [ -d "$path" ] && ! rmdir "$path" 2>/dev/null; then
    say "$path: kept (not empty)"
  fi
done

if [ "$systemd" = yes ]; then systemctl daemon-reload; fi
say "done"
