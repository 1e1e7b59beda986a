# Sourced by the scripts in scripts/: what they share.

# configure DIR CMAKE_ARGS...: cmake with Ninja into DIR, through ccache when
# it is installed. CCACHE_BASEDIR makes cached objects independent of where
# the clone sits, so a second clone (scripts/check-standalone) rebuilds from
# the cache.
configure() {
  local dir="$1"; shift
  local launcher=()
  if command -v ccache >/dev/null; then
    export CCACHE_BASEDIR="$PWD"
    launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  fi
  cmake -S . -B "$dir" -G Ninja "${launcher[@]}" "$@" >/dev/null
}

# use_newest_containerd: points the testbed (NODEFIT_CONTAINERD_VERSION and
# NODEFIT_CONTAINERD_BIN) at the newest containerd of
# integration/peers/versions, which scripts/install-peers has built.
use_newest_containerd() {
  local version
  version="$(awk '$1 == "containerd" {v = $2} END {print v}' \
    integration/peers/versions)"
  export NODEFIT_CONTAINERD_VERSION="$version"
  export NODEFIT_CONTAINERD_BIN="${NODEFIT_PEER_CACHE:-/var/cache/nodefit/peers}/containerd-$version/bin"
}
