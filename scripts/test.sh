#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs packages, builds with warnings as errors and with
# AddressSanitizer and UndefinedBehaviorSanitizer, then runs every test through CTest, whose summary
# is the last thing printed. Exit status: CTest's.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh build/test -DCMAKE_BUILD_TYPE=Debug -DCERTDEPLOY_WERROR=ON -DCERTDEPLOY_SANITIZE=ON
cd build/test
exec ctest --output-on-failure --timeout 300 -j"$(nproc)"
