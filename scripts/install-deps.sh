#!/usr/bin/env bash
# Installs what the kratos-rs test suite needs, idempotently: protoc (Debian's
# protobuf-compiler and libprotobuf-dev for the well-known types), buf (npm package
# @bufbuild/buf, into .tools/), etcd and Prometheus for the tests that start them, and the
# Python test tools (into .tools/venv).
# Safe to run again: each step is skipped when what it installs is already there.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tools="$root/.tools"
buf_version="1.75.0"

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        echo "install-deps: need root (or sudo) to run: $*" >&2
        return 1
    fi
}

apt_packages=()
command -v protoc >/dev/null || apt_packages+=(protobuf-compiler)
[ -f /usr/include/google/protobuf/descriptor.proto ] || apt_packages+=(libprotobuf-dev)
command -v python3 >/dev/null || apt_packages+=(python3)
python3 -c 'import venv, ensurepip' 2>/dev/null || apt_packages+=(python3-venv)
command -v npm >/dev/null || apt_packages+=(npm)
# etcd for the registry tests (started by the tests themselves on free loopback ports).
command -v etcd >/dev/null || [ -x /usr/bin/etcd ] || apt_packages+=(etcd-server)
# Prometheus for the metrics tests: promtool checks /metrics, and a real server started by
# the tests scrapes it (the tests start it themselves; the package's own service is not used).
command -v promtool >/dev/null && command -v prometheus >/dev/null || apt_packages+=(prometheus)
if [ ${#apt_packages[@]} -gt 0 ]; then
    echo "install-deps: installing ${apt_packages[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${apt_packages[@]}"
fi

# Headless Chromium for the Swagger UI browser test (examples/helloworld/tests/swagger_ui.rs).
if ! command -v chromium >/dev/null; then
    echo "install-deps: installing chromium"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium
fi

mkdir -p "$tools"
if [ "$("$tools/node_modules/.bin/buf" --version 2>/dev/null)" != "$buf_version" ]; then
    echo "install-deps: installing buf $buf_version"
    (cd "$tools" && npm install --no-audit --no-fund --loglevel=error "@bufbuild/buf@$buf_version" >/dev/null)
fi

if [ ! -x "$tools/venv/bin/python" ]; then
    echo "install-deps: creating the Python test environment"
    python3 -m venv "$tools/venv"
fi
if ! cmp -s "$root/scripts/requirements-test.txt" "$tools/venv/.requirements"; then
    echo "install-deps: installing Python test tools"
    "$tools/venv/bin/pip" install --quiet --disable-pip-version-check -r "$root/scripts/requirements-test.txt"
    cp "$root/scripts/requirements-test.txt" "$tools/venv/.requirements"
fi

echo "install-deps: protoc $(protoc --version | cut -d' ' -f2), buf $("$tools/node_modules/.bin/buf" --version), $("$tools/venv/bin/python" --version)"
