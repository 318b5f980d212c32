#!/usr/bin/env bash
# The whole kratos-rs test suite: installs what the tests need (scripts/install-deps.sh),
# then formatting, lints and every test of the workspace.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

"$root/scripts/install-deps.sh"
export PATH="$root/.tools/node_modules/.bin:$root/.tools/venv/bin:$PATH"

start=$(date +%s)
echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --all-features -- -D warnings
echo "== cargo test"
cargo test --workspace --all-features
echo "== done in $(( $(date +%s) - start )) s"
