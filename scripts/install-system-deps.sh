#!/usr/bin/env bash
# Install the system packages the tests need (Debian): the Docker engine (docker.io), podman,
# debootstrap (to build test images without a registry), busybox-static (the tiny test image), an ssh server (remote-engine tests),
# chromium (report rendering test), node/npm for configurable-http-proxy, PostgreSQL (execution-log store
# tests; the Moodle adapter's tests) and MariaDB (the Moodle adapter's tests start both servers privately,
# tests/lms/; the packages' own services stay unused).
# Does nothing for packages already present; needs root (CI runs as root).
set -euo pipefail
need=()
command -v dockerd >/dev/null || need+=(docker.io)
command -v podman >/dev/null || need+=(podman)
command -v debootstrap >/dev/null || need+=(debootstrap)
dpkg -s busybox-static >/dev/null 2>&1 || need+=(busybox-static)
command -v sshd >/dev/null || [ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v chromium >/dev/null || need+=(chromium)
# a Japanese font, so the console's Japanese screenshots (tests/console/) show text, not boxes
dpkg -s fonts-ipafont-gothic >/dev/null 2>&1 || need+=(fonts-ipafont-gothic)
command -v npm >/dev/null || need+=(npm)
# Japanese glyphs for the console's browser screenshots in Japanese (tests/console; else every kana is a box)
dpkg -s fonts-ipafont-gothic >/dev/null 2>&1 || need+=(fonts-ipafont-gothic)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
command -v mariadbd >/dev/null || [ -x /usr/sbin/mariadbd ] || need+=(mariadb-server)
if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "install-system-deps: need root to install: ${need[*]}" >&2
  exit 1
fi
echo "install-system-deps: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${need[@]}" >/dev/null
