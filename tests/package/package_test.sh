#!/usr/bin/env bash
# The Debian package as an administrator meets it: lintian finds no error; `dpkg -i` into a clean Debian 12 root (debootstrap --variant=minbase, kept as a
# tarball in ROOTFS_CACHE after the first run) installs it once its computed Depends are there; `certdeploy
# version` runs there; the system user, configuration and units are where they should be; systemd-analyze
# verify accepts both units there; a changed
# configuration file survives reinstalling (an upgrade); `dpkg --purge` removes it all.
# Usage: package_test.sh DEB   (root; needs lintian, debootstrap and systemd: scripts/install-deps.sh)
set -euo pipefail
deb=$(realpath "${1:?usage: package_test.sh DEB}")
cache=${ROOTFS_CACHE:-/var/cache/certdeploy/bookworm-minbase.tar.gz}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "--- $*"; }

step "lintian: no error"
lintian --fail-on error --tag-display-limit 0 "$deb" || fail "lintian reports errors"

work=$(mktemp -d)
root="$work/root"
cleanup() {
    for m in proc dev/pts dev; do umountpoint=$root/$m; mountpoint -q "$umountpoint" && umount -l "$umountpoint"; done
    rm -rf "$work"
}
trap cleanup EXIT

step "a clean Debian 12 root"
if [ ! -s "$cache" ]; then
    mkdir -p "$(dirname "$cache")"
    debootstrap --variant=minbase bookworm "$work/fresh" "$mirror" >"$work/debootstrap.log" 2>&1 ||
        { tail -20 "$work/debootstrap.log"; fail "debootstrap failed"; }
    tar -C "$work/fresh" -czf "$cache.tmp" . && mv "$cache.tmp" "$cache"
    rm -rf "$work/fresh"
fi
mkdir "$root"
tar -C "$root" -xzf "$cache"
cp /etc/resolv.conf "$root/etc/resolv.conf"
mount -t proc proc "$root/proc"
in_root() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive LC_ALL=C "$@"; }

step "dpkg -i, its Depends installed first"
depends=$(dpkg-deb -f "$deb" Depends | tr ',' '\n' | sed -E 's/\(.*\)//; s/\|.*//; s/^ +//; s/ +$//' | grep -v '^$')
[ -n "$depends" ] || fail "the package declares no dependency"
echo "Depends: $(dpkg-deb -f "$deb" Depends)"
in_root apt-get update -qq >/dev/null
# shellcheck disable=SC2086
in_root apt-get install -y -qq --no-install-recommends $depends >/dev/null || fail "its dependencies do not install"
cp "$deb" "$root/tmp/certdeploy.deb"
in_root dpkg -i /tmp/certdeploy.deb || fail "dpkg -i"
[ "$(in_root dpkg-query -W -f='${Status}' certdeploy)" = "install ok installed" ] || fail "not installed"

step "what it installed"
version=$(in_root certdeploy version) || fail "certdeploy version"
echo "$version"
[ "$version" = "certdeploy $(dpkg-deb -f "$deb" Version)" ] || fail "version says '$version'"
in_root getent passwd certdeploy | grep -q ':/var/lib/certdeploy:' || fail "no certdeploy system user"
for f in /etc/certdeploy/server.jsonc /etc/certdeploy/agent.jsonc /lib/systemd/system/certdeploy-server.service \
    /lib/systemd/system/certdeploy-agent.service /usr/share/doc/certdeploy/OPERATING.md \
    /usr/share/certdeploy/prometheus/certdeploy-rules.yaml; do
    [ -f "$root$f" ] || fail "missing $f"
done
[ "$(in_root stat -c '%a %G' /etc/certdeploy/pki)" = "750 certdeploy" ] || fail "/etc/certdeploy/pki is not 0750 certdeploy"
in_root certdeploy server --config /etc/certdeploy/server.jsonc --help >/dev/null || fail "server --help"

step "systemd-analyze verify of both units, as installed (systemd added to the root for it)"
in_root apt-get install -y -qq --no-install-recommends systemd procps >/dev/null || fail "systemd in the root"
in_root systemd-analyze verify /lib/systemd/system/certdeploy-server.service \
    /lib/systemd/system/certdeploy-agent.service || fail "systemd-analyze verify"

step "an upgrade keeps a changed configuration file"
echo '// changed by the administrator' >>"$root/etc/certdeploy/server.jsonc"
in_root dpkg -i --force-confold /tmp/certdeploy.deb >/dev/null || fail "reinstall"
grep -q 'changed by the administrator' "$root/etc/certdeploy/server.jsonc" || fail "the configuration was replaced"

step "dpkg --purge removes it cleanly"
in_root dpkg --purge certdeploy || fail "purge"
for f in /usr/bin/certdeploy /etc/certdeploy /lib/systemd/system/certdeploy-server.service /var/lib/certdeploy; do
    [ ! -e "$root$f" ] || fail "$f is still there after purge"
done
echo "package test passed"
