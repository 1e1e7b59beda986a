#!/usr/bin/env bash
# The demo's own steps, non-interactively: the table shows the expected
# build for each node profile and face, and nothing is left behind (no
# process, mount, socket or directory of the demo).
set -uo pipefail
build="${1:?usage: demo_test.sh BUILD_DIR}"
here="$(cd "$(dirname "$0")" && pwd)"
# The test's own files live in the build tree, away from /tmp where the
# demo and the other tests make and remove directories of their own.
work=$(mktemp -d "$build/demo-test-XXXXXX")
out="$work/out"
err="$work/err"
trap 'rm -rf "$work"' EXIT

bash "$here/run-demo.sh" "$build" >"$out" 2>"$err"
status=$?
cat "$out"
fail() { echo "demo_test: $*" >&2; cat "$err" >&2; exit 1; }
[ "$status" -eq 0 ] || fail "the demo exited with $status"

expect_row() {  # profile face picked
  grep -Eq "^$1 +$2 +$3 +generic" "$out" || fail "no row: $1 $2 -> $3"
}
for face in hosts.toml CRI; do
  expect_row "linux/amd64" "$face" "generic"
  expect_row "linux/amd64:skylake" "$face" "skylake"
  expect_row "linux/amd64:cascadelake" "$face" "skylake-avx512"
  expect_row "linux/amd64:broadwell:nv-compute-5-2:nvidia-396-44" "$face" \
    "broadwell-nvcap52-nvidia39644"
done

dir=$(sed -n 's/^demo dir: //p' "$err")
[ -n "$dir" ] || fail "the demo did not say where it worked"
[ ! -e "$dir" ] || fail "$dir is still there"
if pgrep -af -- "$dir"; then fail "processes of the demo are still running"; fi
if grep -q -- "$dir" /proc/mounts; then fail "mounts under $dir remain"; fi

# Interrupted half way (SIGTERM once nodefit runs for a node): the same.
bash "$here/run-demo.sh" "$build" >/dev/null 2>"$err" &
runner=$!
for _ in $(seq 300); do
  grep -q "^node " "$err" && break
  sleep 0.1
done
kill -TERM "$runner"
wait "$runner"
[ -f "$err" ] || fail "$err vanished while the interrupted demo stopped"
dir=$(sed -n 's/^demo dir: //p' "$err")
[ -n "$dir" ] || fail "the interrupted demo did not say where it worked"
[ ! -e "$dir" ] || fail "interrupted: $dir is still there"
if pgrep -af -- "$dir"; then fail "interrupted: processes still running"; fi
if grep -q -- "$dir" /proc/mounts; then fail "interrupted: mounts remain"; fi
echo "demo_test: table as expected; nothing left behind, interrupted or not"
