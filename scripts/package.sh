#!/usr/bin/env bash
# scripts/package.sh: builds certdeploy for release (build/package: Release, no tests) and makes its Debian
# package with CPack, build/package/certdeploy_VERSION_ARCH.deb, whose path it prints last. Needs the
# packages of scripts/install-deps.sh (dpkg-dev computes the package's dependencies). Warnings are errors in
# the test build (scripts/test.sh), not here: GCC 12 at -O3 reports a -Wrestrict inside libstdc++ itself
# (GCC bug 105329) that is no fault of this code.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh build/package -DCMAKE_BUILD_TYPE=Release -DCERTDEPLOY_BUILD_TESTS=OFF -DCERTDEPLOY_WERROR=OFF >&2
(cd build/package && cpack -G DEB >&2)
ls -1 "$PWD"/build/package/certdeploy_*.deb | tail -n 1
