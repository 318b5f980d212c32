#!/usr/bin/env bash
# Times the four protoc plugins through real protoc over the synthetic API of
# `benchmarks::synthetic` (N methods with HTTP rules, PGV rules, nested/enum/repeated/map fields
# and an error enum): protoc alone, each plugin alone, and all four in one protoc call.
#
#   scripts/bench-generators.sh [N...]          (default: 1000 5000)
#   RUNS=5 scripts/bench-generators.sh 1000     (median of RUNS runs, default 3)
#   PLUGIN_DIR=dir scripts/bench-generators.sh  (plugin binaries from dir, e.g. another build,
#                                                 to compare; nothing is built then)
#
# Prints, per N and per row, the median wall time, the median CPU time (user + sys of protoc and
# the plugins: on a shared machine it varies less than wall time) and the peak RSS of the
# largest process (protoc or a plugin, from /usr/bin/time). Builds the plugins in release mode
# first. This is a measurement, not a test: nothing is asserted.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
runs="${RUNS:-3}"
sizes=("$@")
[ ${#sizes[@]} -eq 0 ] && sizes=(1000 5000)

if [ -z "${PLUGIN_DIR:-}" ]; then
    # A separate call: `--bin` would otherwise restrict every `-p` to that one binary.
    cargo build --release --quiet \
        -p protoc-gen-rust-kratos-http -p protoc-gen-rust-kratos-validate \
        -p protoc-gen-openapi -p protoc-gen-rust-kratos-errors
fi
cargo build --release --quiet -p benchmarks --bin synthetic-proto
release="${CARGO_TARGET_DIR:-$root/target}/release"
bin="${PLUGIN_DIR:-$release}"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

plugin_flags() {
    case "$1" in
        protoc) echo "-o $work/out/set.pb" ;;
        http) echo "--plugin=protoc-gen-http=$bin/protoc-gen-rust-kratos-http --http_out=$work/out" ;;
        validate) echo "--plugin=protoc-gen-validate=$bin/protoc-gen-rust-kratos-validate --validate_out=$work/out" ;;
        openapi) echo "--plugin=protoc-gen-openapi=$bin/protoc-gen-openapi --openapi_out=$work/out" ;;
        errors) echo "--plugin=protoc-gen-errors=$bin/protoc-gen-rust-kratos-errors --errors_out=$work/out" ;;
        all) echo "$(plugin_flags http) $(plugin_flags validate) $(plugin_flags openapi) $(plugin_flags errors)" ;;
    esac
}

# One run: prints "<wall seconds> <CPU seconds> <max RSS in kB>".
run_once() {
    rm -rf "$work/out" && mkdir -p "$work/out"
    # shellcheck disable=SC2046
    /usr/bin/time -f "%e %U %S %M" -o "$work/time" \
        protoc -I "$work/src" -I "$root/proto" $(plugin_flags "$1") synthetic/v1/api.proto
    awk '{printf "%s %.2f %s\n", $1, $2 + $3, $4}' "$work/time"
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

printf '%-8s %-9s %10s %10s %12s\n' N row "wall s" "CPU s" "max RSS MB"
for n in "${sizes[@]}"; do
    mkdir -p "$work/src/synthetic/v1"
    "$release/synthetic-proto" "$n" >"$work/src/synthetic/v1/api.proto"
    for row in protoc http validate openapi errors all; do
        walls=()
        cpus=()
        rss=0
        for _ in $(seq "$runs"); do
            read -r t c m < <(run_once "$row")
            walls+=("$t")
            cpus+=("$c")
            [ "$m" -gt "$rss" ] && rss="$m"
        done
        printf '%-8s %-9s %10s %10s %12d\n' "$n" "$row" \
            "$(printf '%s\n' "${walls[@]}" | median)" "$(printf '%s\n' "${cpus[@]}" | median)" \
            "$((rss / 1024))"
    done
done
