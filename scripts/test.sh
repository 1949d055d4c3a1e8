#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs packages, builds with warnings as errors and with
# AddressSanitizer and UndefinedBehaviorSanitizer, builds the libFuzzer targets with clang 14,
# installs the contract tests' tools from the npm registry (tests/contract: Prism, Redocly) and the browser
# tests' driver (tests/browser: playwright-core, which drives Debian's chromium), each pinned by its
# package-lock.json, makes the Debian package from a release build (scripts/package.sh), then runs every test through CTest (the fuzzers for a bounded time among them), whose summary is the last thing
# printed. Exit status: CTest's.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
npm ci --prefix tests/contract --no-audit --no-fund --loglevel=error
npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error
scripts/build.sh build/fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++-14 -DCERTDEPLOY_FUZZ=ON
package=$(scripts/package.sh | tail -n 1)
scripts/build.sh build/test -DCMAKE_BUILD_TYPE=Debug -DCERTDEPLOY_WERROR=ON -DCERTDEPLOY_SANITIZE=ON \
    -DCERTDEPLOY_FUZZ_DIR="$PWD/build/fuzz/tests/fuzz" -DCERTDEPLOY_PACKAGE="$package"
cd build/test
exec ctest --output-on-failure --timeout 300 -j"$(nproc)"
