#!/usr/bin/env bash
# Load benchmark: the oracle service's generated kratos-rs routes against a hand-written axum
# app doing the same serde work (benchmarks/src/bin/bench-server.rs), with wrk, in one go.
#
# Installs wrk with apt when missing (idempotently), builds bench-server in release, serves
# both on 127.0.0.1, runs `wrk -t1 -c32` on the small GET (/v1/shelves/1) and on the ~1.1 KB
# JSON POST (/v1/shelves) against each, then prints req/s, p99 and the kratos/axum ratio.
# About a minute (each run: a 2 s warm-up, then DURATION of measurement).
#
# Environment: DURATION (default 10s), ROUNDS (default 1: with more, the runs alternate
# kratos/axum and each keeps its best round, which damps other processes' interference),
# CONNECTIONS (default 32), KRATOS_PORT (18080),
# AXUM_PORT (18081), KRATOS_SETUP=oracle to serve the kratos side exactly as oracle-server
# does (recovery middleware and OpenAPI routes) instead of the bare generated routes.
# COMPARE=observed compares the bare generated routes with the same routes behind Kratos'
# observability middleware (tracing every call with a batch exporter, metrics, JSON logging to
# a sink, metadata; port OBSERVED_PORT, default 18082) instead of with axum: issue 14's cost.
# Not part of CI (see benchmarks/README.md).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
duration=${DURATION:-10s}
rounds=${ROUNDS:-1}
connections=${CONNECTIONS:-32}
kratos_port=${KRATOS_PORT:-18080}
axum_port=${AXUM_PORT:-18081}
body="$root/benchmarks/data/create_shelf.json"
post_lua="$root/benchmarks/wrk/post.lua"

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        echo "bench-load: need root (or sudo) to run: $*" >&2
        return 1
    fi
}

if ! command -v wrk >/dev/null; then
    echo "bench-load: installing wrk"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk
fi

echo "bench-load: building bench-server (release)"
cargo build --quiet --release --manifest-path "$root/Cargo.toml" -p benchmarks --bin bench-server
target_dir=$(cargo metadata --format-version 1 --no-deps --manifest-path "$root/Cargo.toml" |
    sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
server_bin="$target_dir/release/bench-server"

server_flags=(--kratos-port "$kratos_port" --axum-port "$axum_port")
if [ "${KRATOS_SETUP:-bare}" = oracle ]; then server_flags+=(--oracle); fi
# The side compared with kratos: axum, or (COMPARE=observed) the observed kratos routes.
other=axum
other_port=$axum_port
case "${COMPARE:-axum}" in
    axum) ;;
    observed)
        other=observed
        other_port=${OBSERVED_PORT:-18082}
        server_flags+=(--observed-port "$other_port")
        ;;
    *)
        echo "bench-load: COMPARE=${COMPARE}: expected axum or observed" >&2
        exit 2
        ;;
esac
"$server_bin" "${server_flags[@]}" &
server_pid=$!
trap 'kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true' EXIT

# The status line of GET /v1/shelves/1 on 127.0.0.1:$1, over bash's /dev/tcp (no curl needed).
status_line() {
    timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1 &&
        printf 'GET /v1/shelves/1 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' >&3 &&
        head -n1 <&3" 2>/dev/null || true
}

for port in "$kratos_port" "$other_port"; do
    for _ in $(seq 1 100); do
        if status_line "$port" | grep -q ' 200 '; then continue 2; fi
        if ! kill -0 "$server_pid" 2>/dev/null; then
            echo "bench-load: bench-server exited" >&2
            exit 1
        fi
        sleep 0.1
    done
    echo "bench-load: 127.0.0.1:$port does not answer GET /v1/shelves/1 with 200" >&2
    exit 1
done

declare -A rps p99
# run NAME PORT PATH [BODY_FILE]: a 2 s warm-up, then the measured run; with BODY_FILE, a POST
# of that file as JSON (through post.lua, which takes the file after the URL and `--`).
run() {
    local name=$1 port=$2 path=$3 body_file=${4:-}
    local args=(-t1 -c"$connections")
    local url="http://127.0.0.1:$port$path"
    local tail=("$url")
    if [ -n "$body_file" ]; then
        args+=(-s "$post_lua")
        tail+=(-- "$body_file")
    fi
    wrk "${args[@]}" -d2s "${tail[@]}" >/dev/null
    local out
    out=$(wrk "${args[@]}" -d"$duration" --latency "${tail[@]}")
    if grep -q 'Non-2xx' <<<"$out"; then
        echo "$out" >&2
        echo "bench-load: $name got non-2xx answers" >&2
        exit 1
    fi
    local r p
    r=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
    p=$(awk '$1 == "99%" {print $2}' <<<"$out")
    printf '  %-12s %10s req/s   p99 %s\n' "$name" "$r" "$p"
    if awk -v r="$r" -v best="${rps[$name]:-0}" 'BEGIN { exit !(r > best) }'; then
        rps[$name]=$r
        p99[$name]=$p
    fi
}

echo "bench-load: wrk -t1 -c$connections -d$duration (after a 2 s warm-up each), kratos side: ${KRATOS_SETUP:-bare}, compared with: $other"
for _ in $(seq 1 "$rounds"); do
    run kratos-get "$kratos_port" /v1/shelves/1
    run "$other-get" "$other_port" /v1/shelves/1
done
for _ in $(seq 1 "$rounds"); do
    run kratos-post "$kratos_port" /v1/shelves "$body"
    run "$other-post" "$other_port" /v1/shelves "$body"
done

echo
printf '%-5s %14s %14s %10s %10s %8s\n' "" "kratos req/s" "$other req/s" "kratos p99" "$other p99" "ratio"
for kind in get post; do
    k=${rps[kratos-$kind]} a=${rps[$other-$kind]}
    if [ "$other" = observed ]; then
        ratio=$(awk -v k="$k" -v a="$a" 'BEGIN { printf "%.2f", a / k }')
    else
        ratio=$(awk -v k="$k" -v a="$a" 'BEGIN { printf "%.2f", k / a }')
    fi
    label=$(tr '[:lower:]' '[:upper:]' <<<"$kind")
    printf '%-5s %14s %14s %10s %10s %7sx\n' "$label" "$k" "$a" "${p99[kratos-$kind]}" "${p99[$other-$kind]}" "$ratio"
done
if [ "$other" = observed ]; then
    echo "(ratio = observed req/s / bare kratos req/s, best of $rounds round(s); issue 14's target >= 0.80)"
else
    echo "(ratio = kratos req/s / axum req/s, best of $rounds round(s); target >= 0.90)"
fi
