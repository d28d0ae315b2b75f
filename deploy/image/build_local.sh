#!/bin/sh
# Builds Breadboard's image with podman on a machine that reaches Debian's mirror and the npm registry but no image
# registry: the base (Debian bookworm with Node.js and npm) is made here with debootstrap and imported, then the
# Dockerfile builds on it unchanged but for its BASE argument.
#
#   sh deploy/image/build_local.sh            # -> localhost/breadboard:local
#
# Needs root and Debian's podman, runc and debootstrap (scripts/ensure_test_packages.sh installs them).
# Settings: BASE_IMAGE (default localhost/bookworm-node:local), IMAGE (default localhost/breadboard:local),
# MIRROR (default http://deb.debian.org/debian), WORK (scratch folder, default /var/tmp/breadboard-image).
set -eu
here=$(cd "$(dirname "$0")/../.." && pwd)
BASE_IMAGE=${BASE_IMAGE:-localhost/bookworm-node:local}
IMAGE=${IMAGE:-localhost/breadboard:local}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
WORK=${WORK:-/var/tmp/breadboard-image}
. "$here/deploy/image/podman_flags.sh"

if ! podman image exists "$BASE_IMAGE"; then
  rootfs="$WORK/rootfs"
  rm -rf "$rootfs" && mkdir -p "$WORK"
  echo "making $BASE_IMAGE with debootstrap ($MIRROR)" >&2
  debootstrap --variant=minbase bookworm "$rootfs" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 || {
    tail -20 "$WORK/debootstrap.log" >&2
    exit 1
  }
  cp /etc/resolv.conf "$rootfs/etc/resolv.conf"
  # The base trusts the CAs this host trusts, so a build behind a TLS-inspecting proxy reaches npm.
  if ls /usr/local/share/ca-certificates/*.crt >/dev/null 2>&1; then
    mkdir -p "$rootfs/usr/local/share/ca-certificates"
    cp /usr/local/share/ca-certificates/*.crt "$rootfs/usr/local/share/ca-certificates/"
  fi
  chroot "$rootfs" sh -c 'export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq --no-install-recommends nodejs npm ca-certificates >/dev/null &&
    update-ca-certificates >/dev/null && apt-get clean && rm -rf /var/lib/apt/lists/*' >"$WORK/base.log" 2>&1 || {
    tail -20 "$WORK/base.log" >&2
    exit 1
  }
  : >"$rootfs/etc/resolv.conf"
  tar -C "$rootfs" -c . | podman import - "$BASE_IMAGE" >/dev/null
  rm -rf "$rootfs"
fi

# --format docker keeps HEALTHCHECK (the OCI format has no field for it).
# shellcheck disable=SC2086
podman $PODMAN_GLOBAL build $PODMAN_LIMITS --format docker --network host \
  --build-arg BASE="$BASE_IMAGE" -t "$IMAGE" "$here"
