#!/usr/bin/env bash
# Side-by-side numbers for VRRP daemons with keepalived's command line, in throwaway network
# namespaces (never the host's interfaces):
#
#   bash bench/run.sh [DAEMON...]     default: target/release/rkeepalived and /usr/sbin/keepalived
#
# For each daemon: binary size and linkage; startup-to-MASTER (advert_int 1, alone on the LAN,
# so ~3 x 1 + skew s by protocol); takeover by the backup after SIGTERM (priority 0 advert:
# ~skew) and after SIGKILL (master-down interval: ~3 x 1 + skew); resident memory (sum over the
# daemon's processes) and CPU time over 10 s as MASTER of 1 and of 100 instances. Prints a
# Markdown table. Timings are wall-clock on a shared machine: read them as +- 50 ms.
set -euo pipefail

[[ $EUID -eq 0 ]] || { echo "bench: needs root (network namespaces)" >&2; exit 2; }
HERE=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
if [[ $# -eq 0 ]]; then
    set -- "$HERE/target/release/rkeepalived"
    [[ -x /usr/sbin/keepalived ]] && set -- "$@" /usr/sbin/keepalived
fi
for d in "$@"; do [[ -x $d ]] || { echo "bench: $d not executable" >&2; exit 2; }; done

ID=rkb-$$
WORK=$(mktemp -d /tmp/rk-bench.XXXXXX)
chmod 0755 "$WORK"
declare -a PIDS=()
cleanup() {
    trap - EXIT INT TERM
    set +e
    for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
    for ns in "$ID-n1" "$ID-n2" "$ID-lan"; do ip netns del "$ns" 2>/dev/null; done
    rm -rf -- "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now() { echo "$EPOCHREALTIME"; }
diff_s() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

ip netns add "$ID-lan"
ip -n "$ID-lan" link add br0 type bridge
ip -n "$ID-lan" link set br0 up
for i in 1 2; do
    ip netns add "$ID-n$i"
    ip -n "$ID-n$i" link set lo up
    ip -n "$ID-lan" link add "p-n$i" type veth peer name eth1 netns "$ID-n$i"
    ip -n "$ID-lan" link set "p-n$i" master br0 up
    ip -n "$ID-n$i" addr add "10.16.200.1$i/16" dev eth1
    ip -n "$ID-n$i" link set eth1 up
done

# conf NODE PRIO INSTANCES: the seed's instance shape (unicast, PASS auth, nopreempt, labelled
# VIP) with advert_int 1; instance k uses VRID k and VIP 10.16.201.k (instance 1: 10.16.200.200).
conf() {
    local node=$1 prio=$2 n=$3 k vip peer
    peer=$((node == 1 ? 2 : 1))
    printf 'global_defs {\n    router_id bench%s\n}\n' "$node"
    for ((k = 1; k <= n; k++)); do
        vip=10.16.201.$k
        ((k == 1)) && vip=10.16.200.200
        cat <<EOF
vrrp_instance VI_$k {
    state BACKUP
    nopreempt
    interface eth1
    virtual_router_id $k
    priority $prio
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass dWc4Tddl
    }
    virtual_ipaddress {
        $vip dev eth1 label eth1:$k
    }
    unicast_src_ip 10.16.200.1$node
    unicast_peer {
        10.16.200.1$peer
    }
}
EOF
    done
}

# start NODE DAEMON PRIO INSTANCES -> sets STARTED (pid of the daemon's main process: setsid,
# setpriv and ip netns exec all exec the next program)
start() {
    local node=$1 bin=$2 prio=$3 n=$4 d=$WORK/n$1
    mkdir -p "$d"
    conf "$node" "$prio" "$n" >"$d/keepalived.conf"
    rm -f "$d"/*.pid
    setsid setpriv --pdeathsig KILL -- ip netns exec "$ID-n$node" "$bin" -n -l -D -f "$d/keepalived.conf" \
        -p "$d/daemon.pid" -r "$d/vrrp.pid" >>"$d/log" 2>&1 &
    STARTED=$!
    PIDS+=("$STARTED")
}
kill_tree() { # freeze first so that a parent cannot respawn a child being killed
    local t p
    t=$(tree "$1")
    for p in $t; do kill -STOP "$p" 2>/dev/null || true; done
    for p in $t; do kill -KILL "$p" 2>/dev/null || true; done
}
stop_all() {
    local p
    for p in "${PIDS[@]}"; do kill_tree "$p"; done
    for p in "${PIDS[@]}"; do { wait "$p"; } 2>/dev/null || true; done
    PIDS=()
    for i in 1 2; do ip -n "$ID-n$i" addr flush dev eth1 scope global label 'eth1:*' 2>/dev/null || true; done
}
has_vip() { ip -n "$ID-n$1" -o -4 addr show dev eth1 | grep -q " ${2:-10.16.200.200}/32 "; }
count_vips() { ip -n "$ID-n$1" -o -4 addr show dev eth1 | grep -c ' 10.16.20[01]\.[0-9]*/32 ' || true; }
# wait_cond TIMEOUT CMD... ; prints the elapsed seconds, returns 1 on timeout
wait_cond() {
    local limit=$1 t0
    shift
    t0=$(now)
    while ! "$@"; do
        if awk -v a="$t0" -v b="$(now)" -v l="$limit" 'BEGIN { exit !(b - a > l) }'; then
            echo "timeout"
            return 1
        fi
        sleep 0.01
    done
    diff_s "$t0" "$(now)"
}
tree() { # PID and its descendants
    local p=$1 c
    echo "$p"
    for c in $(pgrep -P "$p" || true); do tree "$c"; done
}
rss_kb() { # sum of VmRSS over the tree
    local s=0 p v
    for p in $(tree "$1"); do
        v=$(awk '/^VmRSS:/ { print $2 }' "/proc/$p/status" 2>/dev/null || echo 0)
        s=$((s + ${v:-0}))
    done
    echo "$s"
}
cpu_ticks() { # utime + stime over the tree
    local s=0 p v
    for p in $(tree "$1"); do
        v=$(awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$p/stat" 2>/dev/null || echo 0)
        s=$((s + ${v:-0}))
    done
    echo "$s"
}
HZ=$(getconf CLK_TCK)

declare -a ROWS=()
for bin in "$@"; do
    name=$(basename "$bin")
    echo "== $bin" >&2
    size=$(stat -c %s "$(readlink -f "$bin")")
    if ldd "$bin" >/dev/null 2>&1; then link="dynamic, $(ldd "$bin" | grep -c '=>') libs"; else link=static; fi

    # startup-to-MASTER, three runs (the daemon must hold the VIP alone on the LAN)
    starts=()
    for _ in 1 2 3; do
        start 1 "$bin" 100 1
        starts+=("$(wait_cond 15 has_vip 1 || true)")
        stop_all
    done
    echo "   startup-to-MASTER: ${starts[*]} s" >&2

    # takeover after SIGTERM and after SIGKILL of the master (backup = same daemon, prio 90)
    declare -A take=()
    for sig in TERM KILL; do
        start 1 "$bin" 100 1
        m=$STARTED
        wait_cond 15 has_vip 1 >/dev/null || true
        start 2 "$bin" 90 1
        sleep 2
        if [[ $sig == KILL ]]; then
            kill_tree "$m"
            # A dead machine's VIP is gone with it; what matters is when the backup claims it.
            ip -n "$ID-n1" addr del 10.16.200.200/32 dev eth1 2>/dev/null || true
        else
            kill -TERM "$m"
        fi
        take[$sig]=$(wait_cond 10 has_vip 2 || true)
        stop_all
    done
    echo "   takeover: SIGTERM ${take[TERM]} s, SIGKILL ${take[KILL]} s" >&2

    # memory and CPU as MASTER of 1 and 100 instances
    declare -A rss=() cpu=()
    for n in 1 100; do
        start 1 "$bin" 100 "$n"
        m=$STARTED
        wait_cond 30 bash -c "[[ \$(ip -n $ID-n1 -o -4 addr show dev eth1 | grep -c ' 10.16.20[01]\.[0-9]*/32 ') -ge $n ]]" >/dev/null ||
            echo "   warning: only $(count_vips 1) of $n VIPs" >&2
        c0=$(cpu_ticks "$m")
        sleep 10
        c1=$(cpu_ticks "$m")
        rss[$n]=$(rss_kb "$m")
        cpu[$n]=$(awk -v t=$((c1 - c0)) -v hz="$HZ" 'BEGIN { printf "%.2f", t / hz * 100 / 10 }')
        stop_all
    done
    echo "   RSS ${rss[1]} / ${rss[100]} kB, CPU ${cpu[1]} / ${cpu[100]} %" >&2
    ROWS+=("| $name | $((size / 1024)) KiB ($link) | ${starts[*]} | ${take[TERM]} | ${take[KILL]} | ${rss[1]} / ${rss[100]} | ${cpu[1]} / ${cpu[100]} |")
    unset take rss cpu
done

echo
echo "| daemon | binary | startup-to-MASTER (s, 3 runs) | takeover after SIGTERM (s) | takeover after SIGKILL (s) | RSS kB (1 / 100 instances) | CPU % as MASTER (1 / 100 instances) |"
echo "|---|---|---|---|---|---|---|"
printf '%s\n' "${ROWS[@]}"
