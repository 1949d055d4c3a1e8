#!/usr/bin/env bash
# The container image, built and run here with Debian's podman (no Docker engine on this machine, and no
# image registry: the Debian 12 base images are made with debootstrap and imported under their names).
# Builds docker/Dockerfile, then runs what docker/compose.yaml's `pki` and `controller` services run: a
# private CA in a volume, and the controller from the image, non-root, with its data directory a volume,
# until its HEALTHCHECK passes; then the admin token it made answers GET /v1/whoami over HTTPS, and the
# image holds no compiler. Usage: container_test.sh REPO   (root)
set -euo pipefail
repo=$(realpath "${1:?usage: container_test.sh REPO}")
cache=${ROOTFS_CACHE:-/var/cache/certdeploy/bookworm-minbase.tar.gz}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
image=localhost/certdeploy:test
run_id=certdeploy-test-$$
fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "--- $*"; }

work=$(mktemp -d)
# This machine's cgroups refuse crun and podman's default ulimits: runc, and none.
printf '[containers]\ndefault_ulimits = []\n' >"$work/containers.conf"
export CONTAINERS_CONF=$work/containers.conf
pm() { podman --runtime runc "$@"; }
cleanup() {
    pm rm -f "$run_id-controller" >/dev/null 2>&1 || true
    pm volume rm -f "$run_id-pki" "$run_id-data" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

step "Debian 12 base images, from debootstrap"
if ! pm image exists docker.io/library/debian:12-slim; then
    if [ ! -s "$cache" ]; then
        mkdir -p "$(dirname "$cache")"
        debootstrap --variant=minbase bookworm "$work/root" "$mirror" >"$work/debootstrap.log" 2>&1 ||
            { tail -20 "$work/debootstrap.log"; fail "debootstrap failed"; }
        tar -C "$work/root" -czf "$cache.tmp" . && mv "$cache.tmp" "$cache"
    fi
    pm import "$cache" docker.io/library/debian:12 >/dev/null
    pm tag docker.io/library/debian:12 docker.io/library/debian:12-slim
fi

step "podman build -f docker/Dockerfile"
pm build --format docker --isolation chroot --network host -f "$repo/docker/Dockerfile" -t "$image" "$repo" >"$work/build.log" 2>&1 ||
    { tail -40 "$work/build.log"; fail "the image does not build"; }
tail -3 "$work/build.log"
pm run --rm --entrypoint sh "$image" -c 'command -v g++ cc c++ cmake' && fail "the image holds a compiler"
[ "$(pm run --rm "$image" version)" = "certdeploy 0.1.0" ] || fail "certdeploy version in the image"

step "compose's pki service: a private CA in a volume"
pm volume create "$run_id-pki" >/dev/null
pm volume create "$run_id-data" >/dev/null
pm run --rm --user root -v "$run_id-pki:/pki" --entrypoint sh "$image" -c \
    'certdeploy pki init /pki --agents ex01,ex02 --server-names controller >/dev/null && chown -R certdeploy:certdeploy /pki' ||
    fail "pki init in the image"

step "compose's controller service: non-root, data in a volume, until healthy"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
pm run -d --name "$run_id-controller" --network host -e CERTDEPLOY_LISTEN="127.0.0.1:$port" \
    -v "$run_id-pki:/pki:ro" -v "$run_id-data:/var/lib/certdeploy/controller" "$image" \
    server --tls-cert /pki/server.pem --tls-key /pki/server.key --agent-ca /pki/ca.pem --agent-ca-key /pki/ca.key \
    >/dev/null || fail "the controller does not start"
healthy=no
for _ in $(seq 1 60); do
    if pm healthcheck run "$run_id-controller" >/dev/null 2>&1; then
        healthy=yes
        break
    fi
    sleep 1
done
[ "$healthy" = yes ] || { pm logs "$run_id-controller" | tail -20; fail "the HEALTHCHECK never passed"; }
[ "$(pm exec "$run_id-controller" id -u)" != 0 ] || fail "the controller runs as root"
pm exec "$run_id-controller" cat /pki/ca.pem >"$work/ca.pem"
token=$(pm exec "$run_id-controller" cat /var/lib/certdeploy/controller/admin.token)
who=$(printf 'header = "Authorization: Bearer %s"\n' "$token" |
    curl -sf --cacert "$work/ca.pem" -K - "https://127.0.0.1:$port/v1/whoami") || fail "GET /v1/whoami"
echo "$who"
[ "$(jq -r .role <<<"$who")" = admin ] || fail "the admin token is not admin: $who"
[ "$(pm exec "$run_id-controller" stat -c '%U %a' /var/lib/certdeploy/controller)" = "certdeploy 700" ] ||
    fail "the data directory is not certdeploy's, mode 0700"
pm stop -t 10 "$run_id-controller" >/dev/null
[ "$(pm inspect -f '{{.State.ExitCode}}' "$run_id-controller")" = 0 ] || fail "the controller did not stop cleanly"
echo "container test passed"
