#!/usr/bin/env bash
# Builds the benchmark's Go plugins (bench/go/<name>/ -> dist/bench/go-<name>.wasm) with upstream
# Go for WASI: GOOS=wasip1 GOARCH=wasm -buildmode=c-shared (a reactor module, Go >= 1.24).
# Cached: a module is rebuilt only when its sources, go.mod or the Go version changed (a stamp
# file beside the .wasm holds their hash). `npm run bench` runs this first; `npm run
# bench:go-build` runs it alone.
#
# -checklinkname=0: proxywasm/memory.go reads the linear memory size through the runtime's
# currentMemory (see there). The plugins need no module beyond the standard library.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
src=$repo_root/bench/go
out=$repo_root/dist/bench
if [[ -x /usr/local/go/bin/go ]] && ! command -v go >/dev/null; then
  PATH=$PATH:/usr/local/go/bin   # where Go's own tarball installs it
fi
command -v go >/dev/null || { echo "bench/go/build.sh: Go >= 1.24 is required (GOOS=wasip1 builds)" >&2; exit 1; }
mkdir -p "$out"

names=("$@")
[[ ${#names[@]} -gt 0 ]] || names=(header-rewrite rate-limit)
for name in "${names[@]}"; do
  [[ -f $src/$name/main.go ]] || { echo "bench/go/build.sh: no bench/go/$name/main.go" >&2; exit 1; }
  wasm=$out/go-$name.wasm
  stamp=$(cd "$src" && { go version; cat go.mod; find proxywasm "$name" -name '*.go' | LC_ALL=C sort | xargs cat; } | sha256sum | cut -d' ' -f1)
  if [[ -f $wasm && -f $wasm.stamp && $(<"$wasm.stamp") == "$stamp" ]]; then
    echo "go-build: dist/bench/go-$name.wasm is up to date"
    continue
  fi
  echo "go-build: building dist/bench/go-$name.wasm"
  (cd "$src" && GOOS=wasip1 GOARCH=wasm go build -trimpath -buildvcs=false -buildmode=c-shared -ldflags=-checklinkname=0 -o "$wasm.tmp" "./$name")
  mv "$wasm.tmp" "$wasm"
  echo "$stamp" >"$wasm.stamp"
done
