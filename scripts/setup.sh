#!/usr/bin/env bash
# Set up a Debian 12 (or Ubuntu) machine, as root, to develop and test conman: the distribution's
# packages conman runs with, those its tests use, the packaging tools, then conman itself
# (editable, with its test extras). CI runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

export DEBIAN_FRONTEND=noninteractive
apt-get update
# What conman runs with: systemd and its bus, the OCI runtimes (tests use both), busybox-static
# (the image made from the host), skopeo (pull, load, save), zstd (zstd layers) and
# golang-github-containers-common (its seccomp.json is the default seccomp filter), catatonit
# (--init), netavark, aardvark-dns and iptables (bridge networks, published ports, names).
# docker-registry: the registry the tests pull from, on 127.0.0.1. mmdebstrap and
# systemd-container: the packaging test boots a Debian guest. The rest builds the .deb and .rpm.
apt-get install -y --no-install-recommends \
    systemd dbus util-linux crun runc busybox-static skopeo zstd golang-github-containers-common catatonit \
    netavark aardvark-dns iptables iproute2 \
    docker-registry mmdebstrap systemd-container \
    $(grep -v '^#' packaging/build-deps.txt)
python3 -m pip install -e '.[test]'
