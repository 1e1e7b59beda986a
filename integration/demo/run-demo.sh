#!/usr/bin/env bash
# Runs nodefit-demo in a fresh private directory and always cleans up, also
# when interrupted: every process started for the demo (each names the
# directory on its command line), any mount under it, and the directory.
#
# usage: integration/demo/run-demo.sh BUILD_DIR
set -uo pipefail
build="${1:?usage: run-demo.sh BUILD_DIR}"
if [ "$(id -u)" -ne 0 ]; then
  echo "run-demo: containerd needs root; run as root (or with sudo)" >&2
  exit 2
fi
dir=$(mktemp -d /tmp/nf-demo-XXXXXX)
echo "demo dir: $dir" >&2

cleanup() {
  pkill -TERM -f -- "$dir" 2>/dev/null
  for _ in $(seq 100); do
    pgrep -f -- "$dir" >/dev/null || break
    sleep 0.1
  done
  pkill -KILL -f -- "$dir" 2>/dev/null
  # Deepest mount first.
  awk -v d="$dir" '$2 ~ "^"d {print $2}' /proc/mounts | sort -r |
    while read -r mount; do umount -l "$mount"; done
  rm -rf "$dir"
}
trap cleanup EXIT
# The demo runs in the background so a signal to this script is handled at
# once (bash defers traps while a foreground child runs).
child=""
trap '[ -n "$child" ] && kill -TERM "$child" 2>/dev/null; exit 130' INT TERM

"$build/integration/nodefit-demo" --dir "$dir" --nodefit "$build/plugin/nodefit" &
child=$!
wait "$child"
