#!/usr/bin/env bash
# The seed story, live: two keepalived-compatible nodes + nginx behind a VIP, and a client.
#
#   bash scripts/demo.sh DAEMON_BIN        (e.g. target/debug/rkeepalived or /usr/sbin/keepalived)
#
# Everything lives in throwaway network namespaces (rkd-<pid>-lan/-node1/-node2/-client) joined
# by a bridge inside the "lan" namespace; the host's interfaces, /etc/keepalived and processes are
# never touched. Each node also gets its own PID and mount namespace, so the seed's check script
# (`ps -ef | grep nginx`) sees only that node's nginx, and /etc/keepalived is a bind mount of a
# per-node directory holding the node's keepalived.conf and the seed's checkng.sh.
#
# The configs are config/demo/node{1,2}.conf: the seed's text with only the addresses adapted
# (node1 10.16.200.11, node2 10.16.200.12, VIP 10.16.200.200 on eth1 label eth1:1, all /16).
# Timing is the seed's own (advert_int 2, check interval 10, fall 5), so the failover after
# nginx stops takes 40-50 s; the whole demo takes about 90 s. Exit 0 only if every step happened.
set -euo pipefail

usage() { echo "usage: $0 DAEMON_BIN" >&2; exit 2; }
[[ $# -eq 1 ]] || usage
DAEMON=$(readlink -f -- "$1") || true
if [[ -z "$DAEMON" || ! -x "$DAEMON" ]]; then
    echo "demo: daemon binary '$1' not found or not executable" >&2
    exit 2
fi
if [[ $EUID -ne 0 ]]; then
    echo "demo: needs root (network namespaces); try: sudo $0 $1" >&2
    exit 2
fi
for tool in ip unshare nsenter setsid setpriv nginx curl ping pgrep mount; do
    command -v "$tool" >/dev/null || { echo "demo: missing tool: $tool" >&2; exit 2; }
done

HERE=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
CONF_DIR=$HERE/config/demo
VIP=10.16.200.200
CLIENT_ADDR=10.16.200.100/16
declare -A ADDR=([node1]=10.16.200.11/16 [node2]=10.16.200.12/16)
NODES=(node1 node2)
# The seed's timing (config/demo/*.conf): advert_int 2, chk_ng interval 10, fall 5.
ADVERT=2
CHECK_INTERVAL=10
FALL=5

ID=rkd-$$
LAN=$ID-lan
CLIENT=$ID-client
WORK=""
declare -A HOLDER=() UNSHARE=() DAEMON_PID=() LOGSEEN=()
FAILED=0
T0=$EPOCHREALTIME

# ---------------------------------------------------------------- output helpers
elapsed() { awk -v a="$T0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%6.1f", b - a }'; }
say() { printf '%s [+%ss] %s\n' "$(date -u +%H:%M:%S.%3N)" "$(elapsed)" "$*"; }
ok() { say "  OK   $*"; }
bad() { say "  FAIL $*"; FAILED=1; }
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }

# ---------------------------------------------------------------- cleanup on every exit path
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    set +e
    if [[ $rc -ne 0 && -n "$WORK" ]]; then
        for n in "${NODES[@]}"; do
            [[ -f $WORK/$n/daemon.log ]] || continue
            echo "----- last lines of the daemon log on $n:"
            tail -n 20 "$WORK/$n/daemon.log" | sed 's/^/    /'
        done
    fi
    for n in "${NODES[@]}"; do
        # SIGKILL of `unshare --kill-child` kills the node's PID-namespace init, which makes the
        # kernel kill every process of that node (daemon, scripts, nginx).
        [[ -n "${UNSHARE[$n]:-}" ]] && kill -KILL "${UNSHARE[$n]}" 2>/dev/null
    done
    for n in "${NODES[@]}"; do
        [[ -n "${DAEMON_PID[$n]:-}" ]] && wait "${DAEMON_PID[$n]}" 2>/dev/null
        [[ -n "${UNSHARE[$n]:-}" ]] && wait "${UNSHARE[$n]}" 2>/dev/null
    done
    for ns in "$ID-node1" "$ID-node2" "$CLIENT" "$LAN"; do
        ip netns del "$ns" 2>/dev/null
    done
    [[ -n "$WORK" && -d "$WORK" ]] && rm -rf -- "$WORK"
    say "cleaned up (namespaces $ID-*, $WORK)"
    exit "$rc"
}
trap cleanup EXIT
trap 'echo; say "interrupted"; exit 130' INT TERM

# ---------------------------------------------------------------- node helpers
in_node() { local n=$1; shift; nsenter -t "${HOLDER[$n]}" -n -m -p -- "$@"; }
nginx_count() { in_node "$1" pgrep -c -x nginx 2>/dev/null || true; }
start_nginx() { in_node "$1" nginx -c "$WORK/$1/nginx.conf"; }
stop_nginx() { in_node "$1" nginx -c "$WORK/$1/nginx.conf" -s stop 2>/dev/null; }
# Prints the label of the VIP on node $1's eth1 (empty if absent).
vip_label() {
    ip -n "$ID-$1" -o -4 addr show dev eth1 |
        awk -v vip="$VIP/32" '$3 == "inet" && $4 == vip {
            for (i = 5; i <= NF; i++) if ($i ~ /\\$/) { sub(/\\$/, "", $i); print $i; break }
        }'
}
holders() {
    local out=() n
    for n in "${NODES[@]}"; do [[ -n "$(vip_label "$n")" ]] && out+=("$n"); done
    echo "${out[*]:-}"
}
fetch() { ip netns exec "$CLIENT" curl -s --max-time 2 "http://$VIP/" 2>/dev/null || true; }
ping_vip() { ip netns exec "$CLIENT" ping -c 1 -W 1 "$VIP" >/dev/null 2>&1; }
# Echo new interesting daemon log lines (state changes, scripts, VIPs) since the last call.
pump_logs() {
    local n f total seen
    for n in "${NODES[@]}"; do
        f=$WORK/$n/daemon.log
        [[ -f $f ]] || continue
        total=$(wc -l <"$f")
        seen=${LOGSEEN[$n]:-0}
        if ((total > seen)); then
            sed -n "$((seen + 1)),${total}p" "$f" |
                grep -E 'STATE|[Ss]cript|VIP|priority|[Ff]ault|failed|succeeded' |
                while IFS= read -r line; do say "    $n log: $line"; done || true
            LOGSEEN[$n]=$total
        fi
    done
}
# Fails the demo at once if a daemon we started has exited.
check_daemons() {
    local n
    for n in "${!DAEMON_PID[@]}"; do
        if ! kill -0 "${DAEMON_PID[$n]}" 2>/dev/null; then
            bad "the daemon on $n exited"
            exit 1
        fi
    done
}
# wait_for SECONDS CONDITION... : poll every 0.2 s; 0 if CONDITION held before the deadline.
wait_for() {
    local limit=$1; shift
    local start=$EPOCHREALTIME
    while :; do
        if "$@"; then return 0; fi
        pump_logs
        check_daemons
        if awk -v a="$start" -v b="$EPOCHREALTIME" -v l="$limit" 'BEGIN { exit !(b - a > l) }'; then
            return 1
        fi
        sleep 0.2
    done
}
holds_only() { [[ "$(holders)" == "$1" ]]; }
not_holds_only() { ! holds_only "$1"; }
nginx_gone() { [[ "$(nginx_count "$1")" == 0 ]]; }
check_holder() { # NODE : exactly NODE holds the VIP, labelled eth1:1, and serves the client
    local h label page
    h=$(holders)
    if [[ "$h" == "$1" ]]; then ok "VIP $VIP/32 on $1 only"; else bad "VIP holders: '${h:-none}', expected $1"; fi
    label=$(vip_label "$1")
    if [[ "$label" == "eth1:1" ]]; then ok "label $label"; else bad "label '${label}', expected eth1:1"; fi
    if ping_vip; then ok "client pings $VIP"; else bad "client cannot ping $VIP"; fi
    page=$(fetch)
    if [[ "$page" == *"$1"* ]]; then ok "client GET http://$VIP/ -> \"$page\""; else bad "client GET http://$VIP/ -> \"$page\", expected $1's page"; fi
}

# ---------------------------------------------------------------- build the lab
say "demo of $DAEMON (namespaces $ID-*)"
WORK=$(mktemp -d /tmp/rk-demo.XXXXXX)
chmod 0755 "$WORK" # enable_script_security: every path component root-owned, not group/world-writable

ip netns add "$LAN"
ip -n "$LAN" link set lo up
ip -n "$LAN" link add br0 type bridge
ip -n "$LAN" link set br0 up
attach() { # NS PORT ADDR : veth PORT (in lan, on br0) <-> eth1 (in NS)
    ip netns add "$1"
    ip -n "$1" link set lo up
    ip -n "$LAN" link add "$2" type veth peer name eth1 netns "$1"
    ip -n "$LAN" link set "$2" master br0 up
    ip -n "$1" addr add "$3" dev eth1
    ip -n "$1" link set eth1 up
}
attach "$CLIENT" p-client "$CLIENT_ADDR"
for n in "${NODES[@]}"; do
    attach "$ID-$n" "p-$n" "${ADDR[$n]}"
    d=$WORK/$n
    mkdir -p "$d/etc" "$d/www" "$d/run"
    install -m 0644 "$CONF_DIR/$n.conf" "$d/etc/keepalived.conf"
    install -m 0755 "$CONF_DIR/checkng.sh" "$d/etc/checkng.sh"
    echo "$n" >"$d/www/index.html"
    cat >"$d/nginx.conf" <<EOF
worker_processes 1;
pid $d/run/nginx.pid;
error_log $d/nginx-error.log;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path $d/run/body;
    proxy_temp_path $d/run/proxy;
    fastcgi_temp_path $d/run/fastcgi;
    uwsgi_temp_path $d/run/uwsgi;
    scgi_temp_path $d/run/scgi;
    server { listen 80; root $d/www; }
}
EOF
    chmod -R go-w "$d"
    # The node's "machine": PID namespace (init = a reaping bash loop) + private mount namespace
    # with /proc of that PID namespace and /etc/keepalived bind-mounted from $d/etc.
    setsid setpriv --pdeathsig KILL -- ip netns exec "$ID-$n" unshare --pid --fork --kill-child --mount-proc --mount \
        bash -c "mount --bind '$d/etc' /etc/keepalived && exec bash -c 'while :; do sleep 1; done'" &
    UNSHARE[$n]=$!
done
for n in "${NODES[@]}"; do
    for _ in $(seq 50); do
        HOLDER[$n]=$(pgrep -P "${UNSHARE[$n]}" || true)
        [[ -n "${HOLDER[$n]}" ]] && in_node "$n" test -x /etc/keepalived/checkng.sh 2>/dev/null && break
        sleep 0.1
    done
    [[ -n "${HOLDER[$n]}" ]] || { bad "$n: PID namespace did not start"; exit 1; }
done
say "LAN: bridge br0 in $LAN; client $CLIENT_ADDR; node1 ${ADDR[node1]}; node2 ${ADDR[node2]} (eth1 each); VIP $VIP"

# ---------------------------------------------------------------- the story
say "STEP 1: start nginx on both nodes (systemctl start nginx)"
for n in "${NODES[@]}"; do
    start_nginx "$n"
    page=$(ip netns exec "$CLIENT" curl -s --max-time 2 "http://${ADDR[$n]%/*}/" || true)
    if [[ "$page" == "$n" ]]; then ok "client GET http://${ADDR[$n]%/*}/ -> \"$page\" ($(nginx_count "$n") nginx processes visible on $n)"; else bad "$n's nginx does not answer (got \"$page\")"; fi
done

say "STEP 2: start the daemon on node1, then on node2 (systemctl start keepalived)"
start_daemon() {
    # setsid: keep the daemon's nsenter out of the terminal's process group, so that Ctrl-C
    # reaches only this script (whose trap tears the node down) and nsenter stays to reap it.
    setsid nsenter -t "${HOLDER[$1]}" -n -m -p -- "$DAEMON" -n -l -D -f /etc/keepalived/keepalived.conf \
        -p "$WORK/$1/run/daemon.pid" -r "$WORK/$1/run/vrrp.pid" >"$WORK/$1/daemon.log" 2>&1 &
    DAEMON_PID[$1]=$!
}
t=$EPOCHREALTIME
start_daemon node1
if wait_for 20 holds_only node1; then
    ok "node1 became MASTER $(since "$t") s after start (expected ~3 x advert_int + skew = ~6.6 s)"
else
    bad "node1 did not take the VIP within 20 s"; pump_logs; exit 1
fi
start_daemon node2
# node2 would claim the VIP after its own down timer (3 x 2 + 0.65 s) if it did not hear node1.
wait_for $((3 * ADVERT + 2)) false || true
pump_logs
check_holder node1

say "STEP 3: stop nginx on node1 (systemctl stop nginx)"
stop_nginx node1
t_stop=$EPOCHREALTIME
wait_for 10 nginx_gone node1 || bad "nginx on node1 did not stop"
ok "no nginx process left on node1; node2 still runs $(nginx_count node2)"
limit=$((FALL * CHECK_INTERVAL + 2)) # fall x interval + skew (<1 s) + 1 s
say "  waiting for the VIP to move (the check runs every ${CHECK_INTERVAL} s, fall ${FALL}: 40-50 s; limit ${limit} s)"
if wait_for "$limit" holds_only node2; then
    ok "VIP moved to node2 $(since "$t_stop") s after nginx stopped on node1"
else
    bad "VIP did not move to node2 within ${limit} s (holders: '$(holders)')"; exit 1
fi
pump_logs
check_holder node2

say "STEP 4: start nginx on node1 again; nopreempt: the VIP must stay on node2"
start_nginx node1
t_start=$EPOCHREALTIME
hold=$((3 * ADVERT + 2 * CHECK_INTERVAL))
say "  watching for ${hold} s (3 advert intervals + 2 check intervals)"
if wait_for "$hold" not_holds_only node2; then
    bad "VIP left node2 $(since "$t_start") s after nginx came back on node1 (holders: '$(holders)')"
else
    ok "VIP stayed on node2 for ${hold} s"
fi
pump_logs
check_holder node2

echo
if [[ $FAILED -eq 0 ]]; then
    say "DEMO PASSED: every step happened as expected"
    exit 0
else
    say "DEMO FAILED (see FAIL lines above)"
    exit 1
fi
