#!/usr/bin/env bash
# scripts/build.sh DIR [cmake options...]: configures (once) and builds certdeploy into DIR with Ninja,
# ccache and one job per core.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$1
shift
if [ ! -f "$dir/build.ninja" ]; then
    cmake -S . -B "$dir" -G Ninja "$@"
fi
cmake --build "$dir" -j"$(nproc)"
