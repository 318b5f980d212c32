#!/usr/bin/env bash
# Packaging must not break silently: `cargo publish --dry-run --workspace` packages every
# publishable crate (manifests normalised, files listed, path dependencies versioned), then a
# user's crate (scripts/packaged-user: a service from a proto with HTTP rules, errors and
# validation, depending only on kratos-rs and tokio) is built against the packaged sources
# through [patch.crates-io], as it would be built from crates.io.
#
# The dry run does not verify each package by building it alone: that resolves the newest
# versions of every dependency, so CI would change with crates.io. The user's crate builds every
# package instead (kratos-rs with `build` depends on all of them), with the workspace's lock file.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
target="${CARGO_TARGET_DIR:-$root/target}"

echo "== cargo publish --dry-run --workspace"
cargo publish --dry-run --workspace --allow-dirty --no-verify

# The .crate files themselves, unpacked afresh: exactly what crates.io would serve.
# (`cargo package --workspace` would also take the unpublished test crates.)
publishable=$(cargo metadata --no-deps --format-version 1 | python3 -c '
import json, sys
for p in json.load(sys.stdin)["packages"]:
    if p["publish"] is None:
        print("-p", p["name"])')
# shellcheck disable=SC2086 # one word per flag and name
cargo package $publishable --allow-dirty --no-verify --quiet
user="$target/packaged-user"
rm -rf "$user"
mkdir -p "$user/packages"
cp -r scripts/packaged-user/. "$user/"
# The workspace's lock file pins the same dependency versions the workspace is tested with.
cp Cargo.lock "$user/Cargo.lock"
{
    echo
    echo "[patch.crates-io]"
    for crate in "$target"/package/*.crate; do
        # -m: fresh mtimes, so cargo rebuilds what changed since the last check.
        tar -xzmf "$crate" -C "$user/packages"
        dir="$user/packages/$(basename "${crate%.crate}")"
        name=$(basename "$dir" | sed -E 's/-[0-9]+\.[0-9]+\.[0-9]+.*$//')
        echo "$name = { path = \"$dir\" }"
    done
} >> "$user/Cargo.toml"

# The packaged `kratos` command is a member of the user's workspace, so that it builds with the
# same patches: it compiles only if its package holds its templates (include_str!).
cli=$(basename "$(ls -d "$user"/packages/kratos-cli-*)")
sed -i "s|^\[workspace\]\$|[workspace]\nmembers = [\"packages/$cli\"]|" "$user/Cargo.toml"

echo "== user crate on the packaged crates"
CARGO_TARGET_DIR="$target" cargo build --manifest-path "$user/Cargo.toml"
"$target/debug/packaged-user"

echo "== the packaged kratos command"
CARGO_TARGET_DIR="$target" cargo build --manifest-path "$user/Cargo.toml" -p kratos-cli
scratch=$(mktemp -d)
(cd "$scratch" && "$target/debug/kratos" new packaged-check >/dev/null && test -f packaged-check/src/main.rs)
rm -rf "$scratch"
