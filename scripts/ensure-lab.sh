#!/usr/bin/env bash
# What `npm start` (the lab) needs on this machine: PostgreSQL and Redis
# server binaries (the lab runs private instances of them; none needs to be
# running, and none is started here), Open vSwitch for the real data plane,
# GoBGP for the external PE, iproute2, ethtool and ping for the CE hosts.
# As root on Debian/Ubuntu it installs what is missing with apt-get; anywhere
# else it names the packages and lets the lab start with what there is (it
# falls back to the soft driver, and says why).
# Idempotent: costs a few milliseconds when everything is there.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
# Daemons live in sbin, which a normal user's PATH may lack.
PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

need=()
[ -n "${DATABASE_URL:-}" ] || compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || command -v initdb >/dev/null 2>&1 || need+=(postgresql)
[ -n "${REDIS_URL:-}" ] || command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v ovs-vswitchd >/dev/null 2>&1 && command -v ovsdb-server >/dev/null 2>&1 || need+=(openvswitch-switch)
command -v gobgpd >/dev/null 2>&1 && command -v gobgp >/dev/null 2>&1 || need+=(gobgpd)
command -v ip >/dev/null 2>&1 || need+=(iproute2)
command -v ethtool >/dev/null 2>&1 || need+=(ethtool)
command -v ping >/dev/null 2>&1 || need+=(iputils-ping)
[ "${#need[@]}" -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-lab: the lab wants these packages, not installed here: ${need[*]}" >&2
  echo "ensure-lab: Debian/Ubuntu: apt-get install ${need[*]} (as root); the lab starts with what there is" >&2
  exit 0
fi

echo "ensure-lab: installing ${need[*]}" >&2
# Keep maintainer scripts from starting the packaged daemons (invoke-rc.d
# honours policy-rc.d's exit 101): the lab runs its own. Put one in place
# only if none exists, and remove only the one we put there.
ours=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
  chmod 755 /usr/sbin/policy-rc.d
  ours=1
fi
cleanup() { if [ -n "$ours" ]; then rm -f /usr/sbin/policy-rc.d; fi; }
trap cleanup EXIT

apt_install() {
  apt-get install -y -q --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "$@"
}
# Update the package lists only when the install fails without them (a fresh
# container has none), so a warm machine never pays for the update.
if ! apt_install "${need[@]}" >/tmp/ensure-lab.apt.log 2>&1; then
  apt-get update -q >>/tmp/ensure-lab.apt.log 2>&1
  apt_install "${need[@]}" >>/tmp/ensure-lab.apt.log 2>&1 || {
    tail -n 40 /tmp/ensure-lab.apt.log >&2
    exit 1
  }
fi
