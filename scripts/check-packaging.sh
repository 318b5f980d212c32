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

packages="$target/package"
user="$target/packaged-user"
rm -rf "$user"
mkdir -p "$user"
cp -r scripts/packaged-user/. "$user/"
# The workspace's lock file pins the same dependency versions the packages were tested with.
cp Cargo.lock "$user/Cargo.lock"
{
    echo
    echo "[patch.crates-io]"
    for crate in "$packages"/*.crate; do
        dir="${crate%.crate}"
        name=$(basename "$dir" | sed -E 's/-[0-9]+\.[0-9]+\.[0-9]+.*$//')
        if [ ! -f "$dir/Cargo.toml" ]; then
            tar -xzf "$crate" -C "$packages"
        fi
        echo "$name = { path = \"$dir\" }"
    done
} >> "$user/Cargo.toml"

echo "== user crate on the packaged crates"
CARGO_TARGET_DIR="$target" cargo build --manifest-path "$user/Cargo.toml"
"$target/debug/packaged-user"
