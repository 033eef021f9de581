#!/usr/bin/env bash
# Build the local stand-in for the pinned Python base image, for machines that cannot pull from a registry.
#
#   scripts/build-base-image.sh [NAME]     (default NAME: dataquest/base:bookworm; $DQ_BASE_IMAGE wins)
#
# The Debian suite is NAME's tag when it names one the host's debootstrap knows (bookworm, the production base's
# Debian; trixie, what `make localstack-image` builds on), else $DQ_BASE_SUITE (default bookworm).
# $DQ_BASE_EXTRA_PACKAGES adds packages (comma-separated).
#
# Python, as close to production's (CPython 3.12 in /usr/local, as python:3.12-slim-bookworm has it) as this
# machine allows, chosen by $DQ_BASE_PYTHON:
#   auto (default)  a CPython 3.12 installed on this host (pyenv's, or `python3.12` on PATH), copied to /usr/local,
#                   when the host runs the same Debian suite (its extension modules link the host's libraries),
#                   else Debian's python3 (bookworm: 3.11; trixie: 3.13)
#   debian          Debian's python3, python3-venv and python3-pip
#   /some/prefix    that CPython installation (bin/python3, lib/python3.X), copied to /usr/local
#
# A Debian minbase root filesystem made with debootstrap from the mirror apt already uses, plus the host's CA bundle
# (so that pip inside a build reaches PyPI through whatever TLS-inspecting proxy the host trusts), imported with
# `docker import`. debootstrap is installed with apt-get when missing (root). Cached: nothing is rebuilt when
# `docker image inspect NAME` finds it (DQ_REBUILD_BASE=1 forces it). See images/README.md ("No registry").
# On failure the last line on stderr says why, starting "build-base-image:".
set -euo pipefail

NAME=${1:-${DQ_BASE_IMAGE:-dataquest/base:bookworm}}
tag=${NAME##*:}
HOST_CA=${DQ_HOST_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
CHOICE=${DQ_BASE_PYTHON:-auto}
# What a copied CPython's extension modules (ssl, ctypes, sqlite3, lzma, readline, uuid, bz2, zlib) load.
PYTHON_LIBS=ca-certificates,libssl3,libffi8,libsqlite3-0,liblzma5,libbz2-1.0,zlib1g,libreadline8,libncursesw6,libuuid1,libexpat1

fail() {
  echo "build-base-image: $*" >&2
  exit 1
}

if [[ -z "${DQ_REBUILD_BASE:-}" ]] && docker image inspect "$NAME" >/dev/null 2>&1; then
  echo "build-base-image: $NAME is present (cached: $(docker image inspect --format '{{.Comment}}' "$NAME")); DQ_REBUILD_BASE=1 rebuilds it" >&2
  exit 0
fi
[[ $(id -u) -eq 0 ]] || fail "debootstrap needs root (this is uid $(id -u)); on this machine pull the production base instead"

# debootstrap, installed as scripts/docker-engine.sh installs dockerd: with apt-get, as root.
if ! command -v debootstrap >/dev/null; then
  command -v apt-get >/dev/null && [[ -z "${DQ_BASE_NO_INSTALL:-}" ]] \
    || fail "debootstrap is missing and cannot be installed here (needs apt-get): install it, or pull the production base"
  echo "build-base-image: installing debootstrap with apt-get" >&2
  { apt-get -o DPkg::Lock::Timeout=600 update -qq \
      && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq debootstrap; } \
    >/tmp/dataquest-apt-debootstrap.log 2>&1 \
    || fail "apt-get install debootstrap failed (see /tmp/dataquest-apt-debootstrap.log)"
fi

if [[ "$NAME" == *:* && -e "/usr/share/debootstrap/scripts/$tag" ]]; then
  SUITE=$tag
else
  SUITE=${DQ_BASE_SUITE:-bookworm}
fi

# The host CPython 3.12 to copy, if any (auto): pyenv's or python3.12 on PATH, on a host of the same suite.
host_python() {
  local host_suite prefix
  host_suite=$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")
  [[ "$host_suite" == "$SUITE" ]] || return 0
  for prefix in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.12.*; do
    [[ -x "$prefix/bin/python3.12" ]] && { echo "$prefix"; return 0; }
  done
  prefix=$(python3.12 -c 'import sys; print(sys.base_prefix)' 2>/dev/null || true)
  [[ -n "$prefix" && "$prefix" != /usr && -x "$prefix/bin/python3.12" ]] && echo "$prefix"
  return 0
}
case "$CHOICE" in
  debian) python_prefix= ;;
  auto) python_prefix=$(host_python) ;;
  *) python_prefix=$CHOICE; [[ -x "$python_prefix/bin/python3" ]] || fail "DQ_BASE_PYTHON=$CHOICE has no bin/python3" ;;
esac
if [[ -n "$python_prefix" ]]; then
  PACKAGES=$PYTHON_LIBS
else
  PACKAGES=python3,python3-venv,python3-pip,ca-certificates
fi
PACKAGES=$PACKAGES${DQ_BASE_EXTRA_PACKAGES:+,$DQ_BASE_EXTRA_PACKAGES}

# The Debian mirror apt uses here (deb822 sources or the classic list), else the public one.
mirror=${DQ_DEBIAN_MIRROR:-}
if [[ -z "$mirror" ]]; then
  mirror=$(grep -hsE '^URIs:.*/debian/?$' /etc/apt/sources.list.d/*.sources | head -n 1 | awk '{print $2}' || true)
fi
if [[ -z "$mirror" ]]; then
  mirror=$(grep -hsE '^deb .*/debian/? ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list | head -n 1 | awk '{print $2}' || true)
fi
mirror=${mirror:-http://deb.debian.org/debian}

rootfs=$(mktemp -d /tmp/dataquest-rootfs.XXXXXX)
chmod 0755 "$rootfs"  # mktemp makes it 0700, which would become the image's / (a non-root user could not run anything)
trap 'rm -rf "$rootfs"' EXIT
echo "build-base-image: debootstrap $SUITE from $mirror into $rootfs (a minute or two)" >&2
debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$rootfs" "$mirror" >"$rootfs.log" 2>&1 \
  || { tail -n 20 "$rootfs.log" >&2; fail "debootstrap failed (log: $rootfs.log)"; }
rm -f "$rootfs.log"

# The host's CPython in /usr/local, as the official image lays it out; without its tests, IDLE, tkinter, static
# library and site-packages (the host's own; venvs get pip from ensurepip).
if [[ -n "$python_prefix" ]]; then
  minor=$("$python_prefix/bin/python3" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
  tar -C "$python_prefix" -c --exclude="lib/python$minor/test" --exclude="lib/python$minor/idlelib" \
      --exclude="lib/python$minor/tkinter" --exclude="lib/python$minor/turtledemo" \
      --exclude="lib/python$minor/site-packages/*" --exclude="lib/python$minor/config-*" --exclude='*.a' \
      bin lib include 2>/dev/null | tar -C "$rootfs/usr/local" -x
  chroot "$rootfs" /sbin/ldconfig
  chroot "$rootfs" /usr/local/bin/python3 -c 'import ssl, ctypes, sqlite3, lzma, bz2, zlib, uuid, venv, ensurepip' \
    || fail "the host's CPython $minor ($python_prefix) does not run in the $SUITE base; DQ_BASE_PYTHON=debian uses Debian's python3"
  python_desc="CPython $("$python_prefix/bin/python3" -c 'import platform; print(platform.python_version())') from $python_prefix"
  # pip carries its own CA bundle (Debian's pip reads the system's): point it at the system's, which is the host's.
  printf '[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n' >"$rootfs/etc/pip.conf"
else
  python_desc="Debian's python3 $(chroot "$rootfs" python3 -c 'import platform; print(platform.python_version())')"
fi

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
  --message "dataquest local base: debian $SUITE minbase, $python_desc" - "$NAME" >/dev/null
echo "build-base-image: built $NAME: debian $SUITE, $python_desc ($(docker image inspect --format '{{.Size}}' "$NAME") bytes)" >&2
