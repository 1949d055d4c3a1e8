#!/usr/bin/env bash
# scripts/build.sh DIR [cmake options...]: configures and builds certdeploy into DIR with Ninja, ccache and
# one job per core. Configuring every time is cheap and makes the options given here always take effect.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$1
shift
# One ccache for every clone on this machine: paths under the clone are hashed relative to it, and the
# working directory is left out of debug builds' hashes (their debug information may then name another
# clone's directory, which nothing here reads).
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=true
cmake -S . -B "$dir" -G Ninja "$@" >/dev/null
cmake --build "$dir" -j"$(nproc)"
