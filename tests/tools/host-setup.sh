#!/usr/bin/env bash
# Prepare the build machine for the sandbox: Debian packages the image builder
# and Molecule need, and a running Docker engine. Idempotent: installs only
# what is missing and starts dockerd only when none answers. There is no
# systemd on the build machines, so dockerd runs in the background with its
# log in .cache/dockerd.log.
set -euo pipefail
cd "$(dirname "$0")/../.."

need=()
command -v dockerd >/dev/null || need+=(docker.io)
command -v mmdebstrap >/dev/null || need+=(mmdebstrap)
# pushes the sandbox's image archives into the docker scenario's registry
command -v skopeo >/dev/null || need+=(skopeo)
python3 -c 'import venv, ensurepip' 2>/dev/null || need+=(python3-venv)
if ((${#need[@]})); then
  echo "host-setup: installing ${need[*]}"
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
fi

if ! docker info >/dev/null 2>&1; then
  mkdir -p .cache
  echo "host-setup: starting dockerd (log: .cache/dockerd.log)"
  nohup dockerd >.cache/dockerd.log 2>&1 &
  for _ in $(seq 60); do
    docker info >/dev/null 2>&1 && break
    sleep 1
  done
  docker info >/dev/null 2>&1 || { tail -n 20 .cache/dockerd.log; echo "host-setup: dockerd did not start" >&2; exit 1; }
fi
echo "host-setup: docker $(docker version --format '{{.Server.Version}}') ready"
