#!/usr/bin/env bash
# Runs the benchmarks on a release build and prints their tables (see bench/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
[ -f build/bench/build.ninja ] || cmake -S . -B build/bench -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/bench -j"$(nproc)" --target certdeploy pkcs12_read_bench
corpus=build/bench/fixtures/corpus
bash tests/fixtures/make-fixtures.sh "$corpus" >/dev/null
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(lscpu | sed -n 's/^Model name: *//p'), $(openssl version)"
echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo
echo "PKCS #12 read (2048-bit RSA leaf, three-certificate chain, AES-256/PBKDF2/HMAC-SHA-256, 2048 iterations):"
build/bench/bench/pkcs12_read_bench "$corpus/modern.pfx" "$corpus/password.txt" \
    build/bench/cli/certdeploy "$(command -v openssl)" "${ROUNDS:-200}"
echo
echo "Deployment through the real processes (bench/deploy_bench.sh AGENTS SERVERS PARALLEL):"
for args in "20 20 64" "10 1000 64" "10 1000 16"; do
    # shellcheck disable=SC2086
    bash bench/deploy_bench.sh build/bench/cli/certdeploy $args
done
echo
echo "Certificate requests through the real processes (bench/request_bench.sh AGENTS ROUNDS), beside openssl req:"
bash bench/request_bench.sh build/bench/cli/certdeploy 10 5
echo
echo "Several controllers (bench/controllers_bench.sh AGENTS SERVERS ROUNDS): SQLite with one, PostgreSQL with 1-3:"
bash bench/controllers_bench.sh build/bench/cli/certdeploy 10 1000 3
