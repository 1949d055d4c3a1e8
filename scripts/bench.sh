#!/usr/bin/env bash
# Runs every benchmark on a release build, prints each table and, at the end, every figure against the
# goals of docs/PERFORMANCE.md; writes the whole output to bench/results/DATE-HHMM-bench.md (see bench/README.md).
# Installs what the peers need (Debian's ansible, wrk, nginx-light). Takes about 15 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
DEBIAN_FRONTEND=noninteractive apt-get install -y -q ansible wrk nginx-light >/dev/null
[ -f build/bench/build.ninja ] || cmake -S . -B build/bench -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/bench -j"$(nproc)" --target certdeploy pkcs12_read_bench store_bench fill_jobs http_floor
bin=build/bench/cli/certdeploy
corpus=build/bench/fixtures/corpus
bash tests/fixtures/make-fixtures.sh "$corpus" >/dev/null
out=bench/results/$(date -u +%Y-%m-%d-%H%M)-bench.md  # a run never replaces an earlier one
export BENCH_SUMMARY
BENCH_SUMMARY=$(mktemp)
trap 'rm -f "$BENCH_SUMMARY"' EXIT
{
    echo "# scripts/bench.sh — $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo
    echo "commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- api service store cli config bench/*.sh bench/*.cpp bench/*.py || echo ' (with uncommitted changes)');" \
        "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)," \
        "$(lscpu | sed -n 's/^Model name: *//p'), $(openssl version), Debian $(cat /etc/debian_version)." \
        "Everything (controller, agents, peers, load generators) shares these cores."
    echo '```'
    echo "PKCS #12 read (2048-bit RSA leaf, three-certificate chain, AES-256/PBKDF2/HMAC-SHA-256, 2048 iterations):"
    build/bench/bench/pkcs12_read_bench "$corpus/modern.pfx" "$corpus/password.txt" "$bin" "$(command -v openssl)" \
        "${ROUNDS:-200}"
    echo
    echo "certdeploy beside Ansible (bench/ansible_bench.sh BINARY N ROUNDS):"
    bash bench/ansible_bench.sh "$bin" 20 3
    echo
    echo "Deployments through the real processes (bench/deploy_bench.sh BINARY AGENTS SERVERS PARALLEL):"
    bash bench/deploy_bench.sh "$bin" 200 200 64
    bash bench/deploy_bench.sh "$bin" 10 10000 64
    echo
    echo "The API beside nginx (bench/api_bench.sh BINARY ROUNDS SECONDS THREADS CONNECTIONS):"
    bash bench/api_bench.sh "$bin" 3 8 2 64
    echo
    echo "A long history (bench/jobs_bench.sh BINARY FILL_JOBS JOBS):"
    bash bench/jobs_bench.sh "$bin" build/bench/bench/fill_jobs 100000
    echo
    echo "The store alone (build/bench/bench/store_bench TARGETS THREADS...):"
    build/bench/bench/store_bench 2000 1 8 64
    echo
    echo "Certificate requests through the real processes (bench/request_bench.sh AGENTS ROUNDS), beside openssl req:"
    bash bench/request_bench.sh "$bin" 10 5
    echo
    echo "Several controllers (bench/controllers_bench.sh AGENTS SERVERS ROUNDS): SQLite with one, PostgreSQL with 1-3:"
    bash bench/controllers_bench.sh "$bin" 10 1000 3
    echo '```'
    echo
    echo "## Against the goals (issue 15)"
    echo
    python3 bench/goals.py "$BENCH_SUMMARY"
} 2>&1 | tee "$out"
echo "written: $out"
