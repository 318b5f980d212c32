#!/usr/bin/env bash
# The whole kratos-rs test suite: installs what the tests need (scripts/install-deps.sh),
# then formatting, lints and every test of the workspace.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

"$root/scripts/install-deps.sh"
export PATH="$root/.tools/node_modules/.bin:$root/.tools/venv/bin:$PATH"

# A one-shot build gains nothing from incremental compilation state, which is large on disk.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

start=$(date +%s)
echo "== disk: $(df -h . | awk 'NR==2 {print $4 " free of " $2}')"
echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --all-features -- -D warnings
echo "== cargo test"
cargo test --workspace --all-features
echo "== packaging"
"$root/scripts/check-packaging.sh"
echo "== target directory: $(du -sh target 2>/dev/null | cut -f1)"
echo "== done in $(( $(date +%s) - start )) s"
