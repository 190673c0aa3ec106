#!/bin/bash
# Capture keepalived 2.2.7's own packets (Debian /usr/sbin/keepalived) in two throwaway network
# namespaces joined by a veth pair. Nothing touches the host's interfaces. Run as root:
#   bash tests/vectors/capture.sh OUTDIR
# Produces OUTDIR/keepalived.pcap (capture on veth0, the keepalived side) and OUTDIR/keepalived.log.
set -eu
OUT=${1:?usage: capture.sh OUTDIR}
mkdir -p "$OUT"
A=wirecap-$$-a
B=wirecap-$$-b
cleanup() {
    set +e
    [ -n "${KPID:-}" ] && kill "$KPID" 2>/dev/null && wait "$KPID" 2>/dev/null
    [ -n "${TPID:-}" ] && kill "$TPID" 2>/dev/null && wait "$TPID" 2>/dev/null
    ip netns del "$A" 2>/dev/null
    ip netns del "$B" 2>/dev/null
}
trap cleanup EXIT
ip netns add "$A"
ip netns add "$B"
for ns in "$A" "$B"; do
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
    ip netns exec "$ns" ip link set lo up
done
# Fixed MACs so the vectors are reproducible.
ip netns exec "$A" ip link add veth0 address 02:00:00:00:99:01 type veth peer name veth1 address 02:00:00:00:99:02 netns "$B"
ip netns exec "$A" ip addr add 10.99.0.1/24 dev veth0
ip netns exec "$B" ip addr add 10.99.0.2/24 dev veth1
ip netns exec "$A" ip link set veth0 up
ip netns exec "$B" ip link set veth1 up
sleep 1
cat > "$OUT/keepalived.conf" <<CONF
global_defs {
    router_id wirecap
}
vrrp_instance V2MC {
    state MASTER
    interface veth0
    virtual_router_id 51
    priority 100
    advert_int 2
    authentication {
        auth_type PASS
        auth_pass secret12
    }
    virtual_ipaddress {
        10.99.0.51/24 dev veth0 label veth0:1
    }
}
vrrp_instance V2UC {
    state MASTER
    interface veth0
    virtual_router_id 52
    priority 100
    advert_int 1
    unicast_src_ip 10.99.0.1
    unicast_peer {
        10.99.0.2
    }
    authentication {
        auth_type PASS
        auth_pass 1234
    }
    virtual_ipaddress {
        10.99.0.52/24
    }
}
vrrp_instance V3MC {
    version 3
    state MASTER
    interface veth0
    virtual_router_id 53
    priority 150
    advert_int 1
    virtual_ipaddress {
        10.99.0.53/24
        10.99.0.54/24
    }
}
vrrp_instance V3UC {
    version 3
    state MASTER
    interface veth0
    virtual_router_id 54
    priority 100
    advert_int 0.5
    unicast_src_ip 10.99.0.1
    unicast_peer {
        10.99.0.2
    }
    virtual_ipaddress {
        10.99.0.55/24
    }
}
vrrp_instance V6MC {
    state MASTER
    interface veth0
    virtual_router_id 55
    priority 200
    advert_int 1
    virtual_ipaddress {
        fd00:99::55/64
    }
}
CONF
ip netns exec "$A" tcpdump -i veth0 -U -w "$OUT/keepalived.pcap" >"$OUT/tcpdump.log" 2>&1 &
TPID=$!
sleep 1
ip netns exec "$A" /usr/sbin/keepalived --vrrp -n -l -D -f "$OUT/keepalived.conf" \
    -p "$OUT/keepalived.pid" -r "$OUT/vrrp.pid" >"$OUT/keepalived.log" 2>&1 &
KPID=$!
sleep 13
kill "$KPID"; wait "$KPID" || true; KPID=
sleep 1
kill "$TPID"; wait "$TPID" || true; TPID=
echo "captured $(tcpdump -r "$OUT/keepalived.pcap" 2>/dev/null | wc -l) packets into $OUT/keepalived.pcap"
