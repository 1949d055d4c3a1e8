#!/usr/bin/env bash
# Installs the Debian 12 packages certdeploy builds, runs and tests with. Needs root; does nothing
# when everything is already installed, so repeated runs stay offline and fast.
set -euo pipefail

packages=(
    cmake g++ ninja-build ccache pkg-config git
    libboost1.81-dev libboost-url1.81-dev libboost-program-options1.81-dev
    libssl-dev openssl nlohmann-json3-dev libspdlog-dev doctest-dev
    libsqlite3-dev libsodium-dev libpq-dev postgresql
    curl ca-certificates perl jq python3 nginx-light zsh nodejs iproute2 iptables libfaketime
    openjdk-17-jre-headless clang-14 libclang-rt-14-dev
    chromium prometheus dpkg-dev lintian debootstrap systemd
    podman buildah runc slirp4netns fuse-overlayfs uidmap docker-compose
)

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing packages (${missing[*]}); run as root to install them" >&2
    exit 1
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
