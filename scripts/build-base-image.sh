#!/usr/bin/env bash
# Build the local stand-in for the pinned Python base image, for machines that cannot pull from a registry.
#
#   scripts/build-base-image.sh [NAME]     (default NAME: dataquest/base:bookworm; $DQ_BASE_IMAGE wins)
#
# The Debian suite is NAME's tag when it names one the host's debootstrap knows (bookworm: Python 3.11, what
# the function images build on here; trixie: Python 3.13, what `make localstack-image` builds on), else
# $DQ_BASE_SUITE (default bookworm). $DQ_BASE_EXTRA_PACKAGES adds packages (comma-separated).
#
# A Debian minbase root filesystem made with debootstrap from the mirror apt already uses, with
# python3, venv, pip and CA certificates, plus the host's CA bundle so that pip inside a build reaches
# PyPI through whatever TLS-inspecting proxy the host trusts; imported with `docker import`. Cached: nothing is
# rebuilt when `docker image inspect NAME` finds it (set DQ_REBUILD_BASE=1 to force). See images/README.md
# ("No registry: a local base image").
set -euo pipefail

NAME=${1:-${DQ_BASE_IMAGE:-dataquest/base:bookworm}}
tag=${NAME##*:}
if [[ "$NAME" == *:* && -e "/usr/share/debootstrap/scripts/$tag" ]]; then
  SUITE=$tag
else
  SUITE=${DQ_BASE_SUITE:-bookworm}
fi
PACKAGES=python3,python3-venv,python3-pip,ca-certificates${DQ_BASE_EXTRA_PACKAGES:+,$DQ_BASE_EXTRA_PACKAGES}
HOST_CA=${DQ_HOST_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}

if [[ -z "${DQ_REBUILD_BASE:-}" ]] && docker image inspect "$NAME" >/dev/null 2>&1; then
  echo "build-base-image: $NAME is present (cached); DQ_REBUILD_BASE=1 rebuilds it" >&2
  exit 0
fi

# The Debian mirror apt uses here (deb822 sources or the classic list), else the public one.
mirror=${DQ_DEBIAN_MIRROR:-}
if [[ -z "$mirror" ]]; then
  mirror=$(grep -hsE '^URIs:.*/debian/?$' /etc/apt/sources.list.d/*.sources | head -n 1 | awk '{print $2}' || true)
fi
if [[ -z "$mirror" ]]; then
  mirror=$(grep -hsE '^deb .*/debian/? ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list | head -n 1 | awk '{print $2}' || true)
fi
mirror=${mirror:-http://deb.debian.org/debian}

command -v debootstrap >/dev/null || { echo "build-base-image: debootstrap is missing (apt-get install debootstrap)" >&2; exit 1; }
[[ $(id -u) -eq 0 ]] || { echo "build-base-image: debootstrap needs root" >&2; exit 1; }

rootfs=$(mktemp -d /tmp/dataquest-rootfs.XXXXXX)
chmod 0755 "$rootfs"  # mktemp makes it 0700, which would become the image's / (a non-root user could not run anything)
trap 'rm -rf "$rootfs"' EXIT
echo "build-base-image: debootstrap $SUITE from $mirror into $rootfs (about a minute)" >&2
debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$rootfs" "$mirror" >"$rootfs.log" 2>&1 \
  || { tail -n 20 "$rootfs.log" >&2; echo "build-base-image: debootstrap failed (log: $rootfs.log)" >&2; exit 1; }
rm -f "$rootfs.log"

# pip reads this bundle; replace the distribution's with the host's so PyPI is reachable as it is on the host.
if [[ -f "$HOST_CA" ]]; then
  cp "$HOST_CA" "$rootfs/etc/ssl/certs/ca-certificates.crt"
fi
# Slim it: apt lists, caches and docs are not needed in an image.
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb \
  "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/locale/*

tar -C "$rootfs" -c . | docker import \
  --change 'ENV LANG=C.UTF-8 PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["python3"]' \
  --message "dataquest local base: debian $SUITE minbase + python3 ($mirror)" - "$NAME" >/dev/null
echo "build-base-image: built $NAME ($(docker image inspect --format '{{.Size}}' "$NAME") bytes)" >&2
