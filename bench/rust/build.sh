#!/usr/bin/env bash
# Builds the benchmark's Rust plugins (bench/rust/<name>/ -> dist/bench/rust-<name>.wasm) with the
# Rust proxy-wasm SDK (crate `proxy-wasm`, pinned in bench/rust/Cargo.toml, Cargo.lock committed)
# for wasm32-wasip1, release profile (opt-level 3, LTO, stripped).
# Cached: a module is rebuilt only when its sources, the shared support crate, the Cargo files or
# the Rust version changed (a stamp file beside the .wasm holds their hash). `npm run bench`
# runs this first when Rust scenarios are selected; `npm run bench:rust-build` runs it alone.
#
# Exit 3 (with the reason on stderr) when the toolchain is not there: no cargo, or no
# wasm32-wasip1 target and rustup cannot add it, or the pinned crates cannot be fetched. The
# bench then leaves the Rust rows out and says why; any other failure is a real build error.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
src=$repo_root/bench/rust
out=$repo_root/dist/bench
target=wasm32-wasip1
unavailable() { echo "bench/rust/build.sh: $*" >&2; exit 3; }

if [[ -x $HOME/.cargo/bin/cargo ]] && ! command -v cargo >/dev/null; then
  PATH=$PATH:$HOME/.cargo/bin   # where rustup installs it
fi
command -v cargo >/dev/null || unavailable "cargo not found (install Rust with rustup, then: rustup target add $target)"

# rustc's sysroot has a lib/rustlib/<target> directory for every installed target.
if [[ ! -d $(rustc --print sysroot)/lib/rustlib/$target ]]; then
  command -v rustup >/dev/null || unavailable "the $target target is missing and there is no rustup to add it"
  echo "rust-build: rustup target add $target"
  rustup target add "$target" >&2 || unavailable "the $target target is missing and \`rustup target add $target\` failed"
fi
(cd "$src" && cargo fetch --locked --target "$target" >&2) || unavailable "could not fetch the pinned crates (cargo fetch --locked, see above)"
mkdir -p "$out"

names=("$@")
[[ ${#names[@]} -gt 0 ]] || names=(header-rewrite rate-limit noop)
for name in "${names[@]}"; do
  [[ -f $src/$name/src/lib.rs ]] || { echo "bench/rust/build.sh: no bench/rust/$name/src/lib.rs" >&2; exit 1; }
  wasm=$out/rust-$name.wasm
  stamp=$(cd "$src" && { rustc --version; cat Cargo.toml Cargo.lock; find support "$name" -type f \( -name '*.rs' -o -name Cargo.toml \) | LC_ALL=C sort | xargs cat; } | sha256sum | cut -d' ' -f1)
  if [[ -f $wasm && -f $wasm.stamp && $(<"$wasm.stamp") == "$stamp" ]]; then
    echo "rust-build: dist/bench/rust-$name.wasm is up to date"
    continue
  fi
  echo "rust-build: building dist/bench/rust-$name.wasm"
  (cd "$src" && cargo build --quiet --release --locked --offline --target "$target" -p "rust-$name")
  cp "$src/target/$target/release/rust_${name//-/_}.wasm" "$wasm.tmp"
  mv "$wasm.tmp" "$wasm"
  echo "$stamp" >"$wasm.stamp"
done
