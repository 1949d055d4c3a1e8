#!/usr/bin/env bash
# scripts/build.sh DIR [cmake options...]: configures and builds certdeploy into DIR with Ninja, ccache and
# one job per core. Configuring every time is cheap and makes the options given here always take effect.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$1
shift
cmake -S . -B "$dir" -G Ninja "$@" >/dev/null
cmake --build "$dir" -j"$(nproc)"
