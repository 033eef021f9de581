#!/usr/bin/env bash
# Start a Docker engine on a machine where none runs (CI containers, this build box), or say why it cannot.
#
#   scripts/docker-engine.sh          start dockerd if `docker info` fails; exit 0 once it answers
#   scripts/docker-engine.sh --check  only report whether an engine answers (exit 0) or not (exit 1)
#
# The engine runs with the settings that work inside an unprivileged-ish container: the vfs storage driver (no
# overlayfs inside overlayfs), no iptables and no default bridge (containers use host networking or compose's
# own networks). Where nothing can be pulled, images are built on a local base (scripts/build-base-image.sh, which
# installs the debootstrap it needs itself: a machine that already has Docker needs nothing more).
# On failure the last line on stderr is the reason, starting "docker engine unavailable:" (the tests print it).
set -euo pipefail

DATA_ROOT=${DQ_DOCKER_DATA_ROOT:-/var/lib/docker}
LOG=${DQ_DOCKER_LOG:-/tmp/dataquest-dockerd.log}
PIDFILE=${DQ_DOCKER_PIDFILE:-/var/run/dataquest-dockerd.pid}
WAIT_SECONDS=${DQ_DOCKER_WAIT:-60}

unavailable() {
  echo "docker engine unavailable: $*" >&2
  exit 1
}

answers() { docker info >/dev/null 2>&1; }

if answers; then
  echo "docker-engine: an engine already answers ($(docker version --format '{{.Server.Version}}' 2>/dev/null))" >&2
  exit 0
fi
[[ "${1:-}" == "--check" ]] && unavailable "$(docker info 2>&1 | tail -n 1)"

command -v docker >/dev/null || unavailable "no docker client on PATH (apt-get install docker.io)"
if ! command -v dockerd >/dev/null; then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null && [[ -z "${DQ_DOCKER_NO_INSTALL:-}" ]]; then
    echo "docker-engine: installing docker.io and docker-compose with apt-get" >&2
    { apt-get -o DPkg::Lock::Timeout=600 update -qq && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq docker.io docker-compose; } \
      >/tmp/dataquest-apt.log 2>&1 || unavailable "apt-get install docker.io failed (see /tmp/dataquest-apt.log)"
  else
    unavailable "dockerd is not installed and cannot be installed here (needs root and apt-get)"
  fi
fi
[[ $(id -u) -eq 0 ]] || unavailable "dockerd must be started as root (this is uid $(id -u))"

echo "docker-engine: starting dockerd (vfs, no iptables, no bridge); log in $LOG" >&2
mkdir -p "$DATA_ROOT"
nohup dockerd --storage-driver=vfs --iptables=false --ip-masq=false --bridge=none \
  --data-root="$DATA_ROOT" --pidfile="$PIDFILE" >"$LOG" 2>&1 &
pid=$!
for _ in $(seq "$WAIT_SECONDS"); do
  if answers; then
    echo "docker-engine: dockerd $pid answers ($(docker version --format '{{.Server.Version}}'))" >&2
    exit 0
  fi
  kill -0 "$pid" 2>/dev/null || unavailable "dockerd exited: $(tail -n 1 "$LOG")"
  sleep 1
done
unavailable "dockerd did not answer within ${WAIT_SECONDS}s (see $LOG)"
