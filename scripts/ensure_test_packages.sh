#!/bin/sh
# Installs the Debian packages the tests run for real: clickhouse-server (HTTP driver tests), nats-server
# (JetStream publish tests), chromium (browser tests), prometheus (promtool checks /metrics) and
# podman, runc and debootstrap (the image test). Needs root or sudo; prints what is missing and exits
# non-zero when it cannot install.
set -eu
missing=""
command -v clickhouse-server >/dev/null 2>&1 || missing="$missing clickhouse-server"
command -v nats-server >/dev/null 2>&1 || missing="$missing nats-server"
[ -x /usr/bin/chromium ] || missing="$missing chromium"
command -v promtool >/dev/null 2>&1 || missing="$missing prometheus"
# The image test builds and runs the container image without a Docker engine (deploy/image/build_local.sh).
command -v podman >/dev/null 2>&1 || missing="$missing podman"
command -v runc >/dev/null 2>&1 || missing="$missing runc"
command -v debootstrap >/dev/null 2>&1 || missing="$missing debootstrap"
[ -z "$missing" ] && exit 0

if [ "$(id -u)" = 0 ]; then
  sudo=""
elif command -v sudo >/dev/null 2>&1; then
  sudo="sudo -n"
else
  echo "tests need Debian packages:$missing (run as root or install them with apt-get)" >&2
  exit 1
fi
echo "installing Debian packages:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
# A package list from an earlier update may be stale; refresh once, quietly.
$sudo apt-get update -qq >&2
# shellcheck disable=SC2086
$sudo apt-get install -y -qq --no-install-recommends $missing >&2
