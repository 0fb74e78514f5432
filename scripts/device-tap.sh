#!/usr/bin/env bash
# Creates or removes the TAP interface `provider --stack device` attaches to, owned by
# the calling user so that the provider itself runs unprivileged.
#
#   scripts/device-tap.sh up   [IFACE] [HOST_CIDR]   (defaults: portico0 10.42.0.1/24)
#   scripts/device-tap.sh down [IFACE]
#
# The host side gets HOST_CIDR; the device takes another address of the same network
# (`--device-addr`, default 10.42.0.2/24). Uses sudo when not root. Run it under
# `ip netns exec NS` to make the interface inside a network namespace.
set -euo pipefail
cmd=${1:-}
iface=${2:-portico0}
host_cidr=${3:-10.42.0.1/24}
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
owner=${SUDO_USER:-$(id -un)}
case "$cmd" in
  up)
    as_root ip tuntap add dev "$iface" mode tap user "$owner"
    as_root ip addr add "$host_cidr" dev "$iface"
    as_root ip link set "$iface" up
    echo "TAP $iface up ($host_cidr, owner $owner): provider --stack device --tap $iface"
    ;;
  down)
    as_root ip link del "$iface"
    ;;
  *)
    echo "usage: $0 up|down [IFACE] [HOST_CIDR]" >&2
    exit 2
    ;;
esac
