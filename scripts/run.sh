#!/usr/bin/env bash
# Runs the gateway locally (`make run`) until Ctrl-C. Two kinds of CONFIG:
#   - a gateway config (default: gateway.yaml): two demo upstreams (bin/demo-upstream.mjs on
#     8080 and 8081) and `portico run`: the control plane plus a local Envoy it configures over
#     xDS through func-e; edits to the file apply live. The example gateway.yaml itself is never
#     edited: the first run copies it to $PORTICO_RUN_DIR/gateway.yaml (.run/, gitignored) and
#     runs on the copy, which edits and the admin API change; delete the copy to start over;
#   - a static Envoy config (envoy-configs/*.yaml): the demo upstream plus Envoy through func-e.
#
# Usage: scripts/run.sh [CONFIG]      CONFIG defaults to gateway.yaml
# Environment:
#   UPSTREAM_PORT   demo upstream port (default 8080, what the configs expect)
#   UPSTREAM2_PORT  second demo upstream port (default UPSTREAM_PORT + 1)
#   LISTEN_PORT, XDS_PORT, HTTP_PORT, ADMIN_PORT
#                   gateway mode: listener (default 10000; used when making the example's copy,
#                   as are the upstream ports), control plane xDS (18000) and HTTP (18001), Envoy admin (9901)
#   PORTICO_RUN_DIR where the example's working copy lives (default .run in the repo root)
#   LOG_LEVEL       Envoy --log-level (default warning)
#   WASM_LOG_LEVEL  level of the Wasm plugins' own logs (default info)
#   CONCURRENCY     Envoy worker threads (default 2)
# Relative paths inside CONFIG (e.g. the .wasm files) resolve from the repo root.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
config=${1:-gateway.yaml}
# Resolve CONFIG from the caller's directory before moving to the repo root.
[[ $config == /* ]] || config=$PWD/$config
cd "$repo_root"

die() { printf 'run: ERROR: %s\n' "$*" >&2; exit 1; }
say() { printf 'run: %s\n' "$*"; }

[[ -f $config ]] || die "no Envoy config at $config (usage: scripts/run.sh [CONFIG])"

tools_env=${PORTICO_TOOLS_DIR:-$repo_root/.tools}/env
[[ -f $tools_env ]] || die "$tools_env not found: run 'make tools' (scripts/install-tools.sh) first"
# shellcheck source=/dev/null
source "$tools_env"
[[ -x ${ENVOY_PATH:-} && -x ${FUNC_E:-} ]] || die "Envoy or func-e missing: run 'make tools'"

upstream_port=${UPSTREAM_PORT:-8080}
upstream2_port=${UPSTREAM2_PORT:-$((upstream_port + 1))}
listen_port=${LISTEN_PORT:-10000}
xds_port=${XDS_PORT:-18000}
http_port=${HTTP_PORT:-18001}
admin_port=${ADMIN_PORT:-9901}
run_dir=$(mktemp -d "${TMPDIR:-/tmp}/portico-run-XXXXXX")
func_e_pid='' portico_pid='' upstream_pids=()

# GET a URL, print the body; non-zero unless 2xx. Node is always there (the
# project needs it), curl might not be.
http_get() {
  node -e 'fetch(process.argv[1], { signal: AbortSignal.timeout(2000) })
    .then(async (r) => { process.stdout.write(await r.text()); process.exit(r.ok ? 0 : 1); })
    .catch(() => process.exit(1));' "$1"
}

alive() { [[ -n $1 ]] && kill -0 "$1" 2>/dev/null; }
# shellcheck disable=SC2317  # reached from the EXIT trap only
children() { cat /proc/"$1"/task/*/children 2>/dev/null || true; }

# Background jobs of a script ignore SIGINT, so Ctrl-C only reaches this
# shell: stop the children explicitly. Envoy gets SIGTERM itself (func-e would
# answer SIGTERM by SIGKILLing it); func-e exits once Envoy has.
# shellcheck disable=SC2317  # runs from the EXIT trap
cleanup() {
  trap - INT TERM EXIT
  say "stopping"
  # portico stops its Envoy itself on SIGTERM.
  if alive "$portico_pid"; then
    kill -TERM "$portico_pid" 2>/dev/null
    for _ in $(seq 150); do alive "$portico_pid" || break; sleep 0.1; done
    alive "$portico_pid" && kill -KILL "$portico_pid" 2>/dev/null
  fi
  if alive "$func_e_pid"; then
    for child in $(children "$func_e_pid"); do kill -TERM "$child" 2>/dev/null || true; done
    for _ in $(seq 50); do alive "$func_e_pid" || break; sleep 0.1; done
    alive "$func_e_pid" && kill -KILL "$func_e_pid" 2>/dev/null
  fi
  for pid in "${upstream_pids[@]}"; do alive "$pid" && kill -TERM "$pid" 2>/dev/null; done
  wait 2>/dev/null || true
  rm -rf "$run_dir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Polls `check` until it succeeds; fails early if `pid` dies. Used instead of
# fixed sleeps: startup takes ~100 ms on a good day and seconds on a loaded one.
wait_until() {
  local what=$1 pid=$2 check=$3 deadline=$((SECONDS + 20))
  until eval "$check" >/dev/null 2>&1; do
    alive "$pid" || die "$what exited during startup"
    ((SECONDS < deadline)) || die "$what not ready after 20s"
    sleep 0.1
  done
}


start_upstream() {
  local port=$1 pid
  # Something else answering on the port would pass the readiness check and
  # silently receive the traffic: refuse instead.
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    die "127.0.0.1:$port is already in use; stop that process or set UPSTREAM_PORT (and the config's upstream port)"
  fi
  say "demo upstream on 127.0.0.1:$port"
  node bin/demo-upstream.mjs --port "$port" --quiet &
  pid=$!
  upstream_pids+=("$pid")
  wait_until "demo upstream" "$pid" "http_get http://127.0.0.1:$port/__ready"
}

# A gateway config (no Envoy bootstrap keys): the control plane drives Envoy.
if ! grep -qE '^(static_resources|admin|dynamic_resources):' "$config"; then
  if [[ $config == "$repo_root/gateway.yaml" ]]; then
    # The example stays as shipped: the gateway runs on a working copy, made on the first run
    # with this run's ports (the example's hints name them too).
    work_dir=${PORTICO_RUN_DIR:-$repo_root/.run}
    work_copy=$work_dir/gateway.yaml
    if [[ -f $work_copy ]]; then
      say "running on ${work_copy#"$repo_root"/}, your copy of gateway.yaml from an earlier run (delete it to start again from the example)"
    else
      mkdir -p "$work_dir"
      sed -E -e "s/127\.0\.0\.1:10000/127.0.0.1:$listen_port/g; s/^(    port: )10000\$/\1$listen_port/" \
        -e "s/127\.0\.0\.1:8080/127.0.0.1:$upstream_port/g; s/127\.0\.0\.1:8081/127.0.0.1:$upstream2_port/g" \
        gateway.yaml > "$work_copy.tmp"
      mv "$work_copy.tmp" "$work_copy"
      say "running on ${work_copy#"$repo_root"/}, a copy of gateway.yaml made now: edit the copy while it runs (the admin API writes there too); gateway.yaml stays as shipped"
    fi
    config=$work_copy
  fi
  start_upstream "$upstream_port"
  start_upstream "$upstream2_port"
  mapfile -t hints < <(grep -E '^# (try|expect):' "$config" | sed -E 's/^# //')
  # portico prints where to send requests once Envoy is ready; the hints follow.
  node bin/portico.mjs run -c "$config" --concurrency "${CONCURRENCY:-2}" \
    --xds "127.0.0.1:$xds_port" --http "127.0.0.1:$http_port" --admin "127.0.0.1:$admin_port" &
  portico_pid=$!
  (
    until http_get "http://127.0.0.1:$http_port/healthz" >/dev/null 2>&1 && http_get "http://127.0.0.1:$admin_port/ready" >/dev/null 2>&1; do
      kill -0 "$portico_pid" 2>/dev/null || exit 0
      sleep 0.2
    done
    ((${#hints[@]})) && printf '  %s\n' "${hints[@]}" "try: curl -s http://127.0.0.1:$http_port/status" "try: curl -s http://127.0.0.1:$admin_port/stats/prometheus | grep portico_"
  ) &
  set +e
  wait -n "${upstream_pids[@]}" "$portico_pid"
  status=$?
  set -e
  exit "$status"
fi

start_upstream "$upstream_port"

say "Envoy ($ENVOY_PATH) via func-e on ${config#"$repo_root"/}"
# func-e state (logs, run dir) stays in $run_dir, not in $HOME. No hot
# restart: it would collide with any other Envoy using the default base id.
ENVOY_PATH=$ENVOY_PATH \
FUNC_E_CONFIG_HOME=$run_dir/func-e/config FUNC_E_DATA_HOME=$run_dir/func-e/data \
FUNC_E_STATE_HOME=$run_dir/func-e/state FUNC_E_RUNTIME_DIR=$run_dir/func-e/runtime \
  "$FUNC_E" run -c "$config" \
    --admin-address-path "$run_dir/admin-address.txt" \
    --concurrency "${CONCURRENCY:-2}" \
    --log-level "${LOG_LEVEL:-warning}" \
    --component-log-level "wasm:${WASM_LOG_LEVEL:-info}" \
    --disable-hot-restart &
func_e_pid=$!
wait_until "Envoy" "$func_e_pid" "[[ -s $run_dir/admin-address.txt ]]"
admin="http://$(cat "$run_dir/admin-address.txt")"
wait_until "Envoy" "$func_e_pid" "http_get $admin/ready"

# Listener URLs as Envoy bound them (the config may use any ports).
# shellcheck disable=SC2016  # JavaScript, not shell
mapfile -t urls < <(http_get "$admin/listeners?format=json" | node -e '
  let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
    for (const l of JSON.parse(s).listener_statuses ?? []) {
      const a = l.local_address?.socket_address;
      if (!a?.port_value) continue;
      const host = !a.address || a.address === "0.0.0.0" ? "127.0.0.1" : a.address === "::" ? "[::1]" : a.address;
      console.log(`${l.name} http://${host.includes(":") && !host.startsWith("[") ? `[${host}]` : host}:${a.port_value}`);
    }
  });')

echo
say "ready. Envoy admin: $admin"
for u in "${urls[@]}"; do say "listener ${u% *}: ${u#* }"; done
# A config documents its demo in "# try:" / "# expect:" comment lines; show those.
mapfile -t hints < <(grep -E '^# (try|expect):' "$config" | sed -E 's/^# //')
if ((${#hints[@]})); then
  echo
  printf '  %s\n' "${hints[@]}"
  echo "  try: curl -s ${admin}/stats/prometheus | grep portico_"
elif [[ -n ${urls[0]:-} ]]; then
  first=${urls[0]#* }
  echo
  echo "  try:  curl -si ${first}/anything -H 'x-demo: 1'"
  echo "        curl -s ${admin}/stats/prometheus"
fi
echo
say "Ctrl-C to stop"

# Whichever child exits first ends the session (and cleanup stops the other).
set +e
wait -n "${upstream_pids[0]}" "$func_e_pid"
status=$?
set -e
alive "$func_e_pid" || say "Envoy exited (status $status)"
alive "${upstream_pids[0]}" || say "demo upstream exited (status $status)"
exit "$status"
