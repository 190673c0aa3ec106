#!/usr/bin/env bash
# Side-by-side benchmark of keepalived and rkeepalived on a throwaway namespace LAN.
#
#   bash bench/run.sh            (or `make bench`, which builds the release binary first)
#
# Environment (all optional):
#   KEEPALIVED          keepalived binary            (default /usr/sbin/keepalived)
#   RKEEPALIVED         rkeepalived binary           (default target/release/rkeepalived)
#   RKEEPALIVED_STATIC  static musl build, size only (default target/x86_64-unknown-linux-musl/release/rkeepalived)
#   BENCH_REPEAT        repeats of each failover measurement (default 5)
#   BENCH_CPU_SECS      length of the CPU measurement window (default 30)
#   BENCH_SECTIONS      subset of "failover mixed footprint cpu configtest" (default: all)
#   BENCH_FAILOVER      failover trials to run: subset of "term kill v3kill" (default: all)
#   BENCH_MODE          unicast (the seed's way, default) or multicast adverts
#   BENCH_RESULTS       markdown file the results are appended to (default bench/results.md)
#   BENCH_KEEP=1        keep the work directory (configs, daemon logs, captures)
#
# Everything runs in namespaces named rkb-<pid>-lan / -n1 / -n2: a bridge br0 in the lan
# namespace, a veth pair per node (eth1 inside the node). Each node also has its own PID and
# mount namespace with /etc/keepalived bound to a per-node directory (as scripts/demo.sh and
# tests/common/netns.rs do). Host interfaces and the host's /etc/keepalived are never touched;
# all traffic stays on that bridge. See bench/README.md for what each number means.
set -euo pipefail

HERE=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
LIB=$HERE/bench/lib.py
KEEPALIVED=${KEEPALIVED:-/usr/sbin/keepalived}
RKEEPALIVED=${RKEEPALIVED:-$HERE/target/release/rkeepalived}
RKEEPALIVED_STATIC=${RKEEPALIVED_STATIC:-$HERE/target/x86_64-unknown-linux-musl/release/rkeepalived}
REPEAT=${BENCH_REPEAT:-5}
CPU_SECS=${BENCH_CPU_SECS:-30}
SECTIONS=" ${BENCH_SECTIONS:-failover mixed footprint cpu configtest} "
KINDS=" ${BENCH_FAILOVER:-term kill v3kill} "
MODE=${BENCH_MODE:-unicast}
RESULTS_MD=${BENCH_RESULTS:-$HERE/bench/results.md}

IMPLS=(keepalived rkeepalived)
declare -A BIN=([keepalived]=$KEEPALIVED [rkeepalived]=$RKEEPALIVED)

die() { echo "bench: $*" >&2; exit 2; }
[[ $EUID -eq 0 ]] || die "needs root (network namespaces); try: sudo $0"
for tool in ip unshare nsenter setpriv tcpdump python3 pgrep mount awk; do
    command -v "$tool" >/dev/null || die "missing tool: $tool"
done
for i in "${IMPLS[@]}"; do
    [[ -x "${BIN[$i]}" ]] || die "$i binary '${BIN[$i]}' not found (make release; or set KEEPALIVED/RKEEPALIVED)"
    BIN[$i]=$(readlink -f -- "${BIN[$i]}")
done
[[ $MODE == unicast || $MODE == multicast ]] || die "BENCH_MODE must be unicast or multicast"
[[ $REPEAT =~ ^[1-9][0-9]*$ ]] || die "BENCH_REPEAT must be a positive integer"
[[ $CPU_SECS =~ ^[1-9][0-9]*$ ]] || die "BENCH_CPU_SECS must be a positive integer"

ID=rkb-$$
LAN=$ID-lan
NODES=(n1 n2)
declare -A ADDR=([n1]=10.77.0.11 [n2]=10.77.0.12) PEER=([n1]=10.77.0.12 [n2]=10.77.0.11)
VIP=10.77.0.100
VIP100_PREFIX=10.77.1. # 100-instance configs: VIP 10.77.1.K for instance K
declare -A HOLDER=() UNSHARE=() NSE=() MAC=()
WORK=""
MON_PIDS=()
CAP_PID=""
T_BEGIN=$EPOCHREALTIME

say() { printf '%s [%5.0fs] %s\n' "$(date -u +%H:%M:%S)" "$(awk -v a="$T_BEGIN" -v b="$EPOCHREALTIME" 'BEGIN{print b-a}')" "$*" >&2; }

# ---------------------------------------------------------------- cleanup on every exit path
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    set +e
    local n p
    for n in "${NODES[@]}"; do
        # Killing `unshare --kill-child` kills the node's PID-namespace init, and with it every
        # process of the node (daemons included).
        [[ -n "${UNSHARE[$n]:-}" ]] && kill -KILL "${UNSHARE[$n]}" 2>/dev/null
    done
    for p in "${MON_PIDS[@]}" $CAP_PID; do kill "$p" 2>/dev/null; done
    for n in "${NODES[@]}"; do
        [[ -n "${UNSHARE[$n]:-}" ]] && wait "${UNSHARE[$n]}" 2>/dev/null
        [[ -n "${NSE[$n]:-}" ]] && wait "${NSE[$n]}" 2>/dev/null
    done
    for p in "${MON_PIDS[@]}" $CAP_PID; do wait "$p" 2>/dev/null; done
    for n in "${NODES[@]}"; do ip netns del "$ID-$n" 2>/dev/null; done
    ip netns del "$LAN" 2>/dev/null
    if [[ -n "$WORK" && -d "$WORK" ]]; then
        if [[ "${BENCH_KEEP:-0}" == 1 ]]; then
            echo "bench: work directory kept: $WORK" >&2
        else
            rm -rf -- "$WORK"
        fi
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'echo "bench: interrupted" >&2; exit 130' INT TERM

# ---------------------------------------------------------------- results
rec() { printf 'sample\t%s\t%s\t%s\n' "$1" "$2" "$3" >>"$WORK/results.tsv"; }
note() { printf 'note\t%s\t%s\t%s\n' "$1" "$2" "$3" >>"$WORK/results.tsv"; }
limit() { printf 'limit\t%s\t-\t%s\n' "$1" "$2" >>"$WORK/results.tsv"; }
calc() { awk "BEGIN { printf \"%.4f\", $* }"; }
# skew time: v2 (256-prio)/256 s; v3 (256-prio)*advert_int/256 (RFC 3768 / RFC 5798)
skew() { if [[ $1 == 3 ]]; then calc "(256 - $2) * $3 / 256"; else calc "(256 - $2) / 256"; fi; }
down_interval() { calc "3 * $3 + $(skew "$1" "$2" "$3")"; }

# ---------------------------------------------------------------- the lab
in_node() { local n=$1; shift; nsenter -t "${HOLDER[$n]}" -n -m -p -- "$@"; }

build_lab() {
    WORK=$(mktemp -d /tmp/rkb-$$.XXXXXX)
    chmod 0755 "$WORK"
    : >"$WORK/results.tsv"
    ip netns add "$LAN"
    ip -n "$LAN" link set lo up
    ip -n "$LAN" link add br0 type bridge
    ip -n "$LAN" link set br0 up
    local n d
    for n in "${NODES[@]}"; do
        d=$WORK/$n
        mkdir -p "$d/etc" "$d/run"
        chmod -R 0755 "$d"
        ip netns add "$ID-$n"
        ip -n "$ID-$n" link set lo up
        ip -n "$LAN" link add "p-$n" type veth peer name eth1 netns "$ID-$n"
        ip -n "$LAN" link set "p-$n" master br0 up
        ip -n "$ID-$n" addr add "${ADDR[$n]}/16" dev eth1
        ip -n "$ID-$n" link set eth1 up
        MAC[$n]=$(ip -n "$ID-$n" -o link show dev eth1 | awk '{for (i = 1; i < NF; i++) if ($i == "link/ether") print $(i + 1)}')
        # The node's "machine": PID namespace whose init is a reaping bash loop, private mount
        # namespace with /etc/keepalived bound to $d/etc (an overlay on /etc supplies the
        # mount point if the host has no /etc/keepalived). pdeathsig: if this script dies
        # without running its trap, the node dies with it.
        setpriv --pdeathsig KILL -- ip netns exec "$ID-$n" \
            unshare --pid --fork --kill-child --mount-proc --mount bash -c "
                set -e
                if [ ! -d /etc/keepalived ]; then
                    mkdir -p '$d/etc-upper' '$d/etc-work'
                    mount -t overlay overlay -o 'lowerdir=/etc,upperdir=$d/etc-upper,workdir=$d/etc-work' /etc
                    mkdir /etc/keepalived
                fi
                mount --bind '$d/etc' /etc/keepalived
                touch '$d/run/ready'
                exec bash -c 'while :; do sleep 1; done'" >"$d/init.log" 2>&1 &
        UNSHARE[$n]=$!
    done
    for n in "${NODES[@]}"; do
        for _ in $(seq 100); do
            HOLDER[$n]=$(pgrep -P "${UNSHARE[$n]}" | head -n1 || true)
            [[ -n "${HOLDER[$n]}" && -e "$WORK/$n/run/ready" ]] && break
            sleep 0.05
        done
        [[ -n "${HOLDER[$n]}" && -e "$WORK/$n/run/ready" ]] || die "node $n did not start: $(cat "$WORK/$n/init.log")"
        # Address events of the node, timestamped by ip itself (µs, local time).
        ip -n "$ID-$n" -ts monitor address >"$WORK/mon-$n.log" 2>&1 &
        MON_PIDS+=($!)
    done
    # ARP and VRRP frames on the bridge, kernel timestamps (epoch, µs), source MAC shown.
    # -B 64 MiB: with --immediate-mode and the default buffer the kernel drops capture copies
    # beyond ~32 frames in one burst (a 100-instance master sends its 100 adverts in one burst).
    ip netns exec "$LAN" tcpdump -i br0 -n -e -tt -l --immediate-mode -B 65536 'arp or ip proto 112' \
        >"$WORK/cap.txt" 2>"$WORK/cap.err" &
    CAP_PID=$!
    for _ in $(seq 100); do grep -q listening "$WORK/cap.err" 2>/dev/null && break; sleep 0.05; done
    grep -q listening "$WORK/cap.err" || die "tcpdump did not start: $(cat "$WORK/cap.err")"
    sleep 0.2 # let ip monitor subscribe
    say "lab up: $LAN (br0), $ID-n1 ${ADDR[n1]} ${MAC[n1]}, $ID-n2 ${ADDR[n2]} ${MAC[n2]}; work dir $WORK"
}

# gen_conf FILE NODE VERSION ADVERT_INT PRIO NINST
# NINST=1: VI_1, VRID 51, VIP 10.77.0.100; NINST>1: VI_K, VRID K, VIP 10.77.1.K (K = 1..NINST).
gen_conf() {
    local file=$1 n=$2 ver=$3 adv=$4 prio=$5 ninst=$6 k vrid vip
    {
        echo "global_defs {"
        echo "    router_id rkb-$n"
        echo "}"
        for ((k = 1; k <= ninst; k++)); do
            if ((ninst == 1)); then vrid=51 vip=$VIP; else vrid=$k vip=$VIP100_PREFIX$k; fi
            echo "vrrp_instance VI_$k {"
            echo "    state BACKUP"
            echo "    interface eth1"
            echo "    virtual_router_id $vrid"
            echo "    priority $prio"
            echo "    version $ver"
            echo "    advert_int $adv"
            if [[ $MODE == unicast ]]; then
                echo "    unicast_src_ip ${ADDR[$n]}"
                echo "    unicast_peer {"
                echo "        ${PEER[$n]}"
                echo "    }"
            fi
            echo "    virtual_ipaddress {"
            echo "        $vip/32 dev eth1"
            echo "    }"
            echo "}"
        done
    } >"$file"
}

# start_daemon NODE IMPL CONF : installs CONF as the node's /etc/keepalived/keepalived.conf and
# starts the daemon in the foreground (-n) inside the node; sets T_START (epoch, just before).
start_daemon() {
    local n=$1 impl=$2 conf=$3 d=$WORK/$1
    install -m 0644 "$conf" "$d/etc/keepalived.conf"
    rm -f "$d/run/daemon.pid" "$d/run/vrrp.pid"
    echo "=== $(date -u +%T.%N) $impl $(basename "$conf")" >>"$d/daemon.log"
    LOGOFF[$n]=$(stat -c %s "$d/daemon.log")
    T_START=$EPOCHREALTIME
    # A subshell (so that bash reports no "Killed" job when the daemon dies of SIGKILL) runs
    # nsenter, which forks once more to enter the PID namespace: subshell -> nsenter -> daemon.
    (
        nsenter -t "${HOLDER[$n]}" -n -m -p -- "${BIN[$impl]}" -n -l -D \
            -f /etc/keepalived/keepalived.conf -p "$d/run/daemon.pid" -r "$d/run/vrrp.pid" \
            >>"$d/daemon.log" 2>&1 </dev/null
        exit 0
    ) 2>/dev/null &
    NSE[$n]=$!
}
declare -A LOGOFF=()

# Host pids of the daemon on NODE and all its descendants (parents first); empty if none.
daemon_pids() {
    local n=$1 out=() i=0 k ns_pid
    [[ -n "${NSE[$n]:-}" ]] || return 0
    # NSE -> nsenter -> daemon
    ns_pid=$(pgrep -P "${NSE[$n]}" | head -n1 || true)
    [[ -n "$ns_pid" ]] || return 0
    out=($(pgrep -P "$ns_pid" || true))
    while ((i < ${#out[@]})); do
        for k in $(pgrep -P "${out[$i]}" || true); do out+=("$k"); done
        i=$((i + 1))
    done
    echo "${out[*]:-}"
}
# Waits until the daemon process of NODE exists (nsenter forks it).
wait_daemon_pid() {
    local _
    for _ in $(seq 200); do
        [[ -n "$(daemon_pids "$1")" ]] && return 0
        sleep 0.01
    done
    return 1
}

# stop_daemon NODE : SIGTERM (like systemctl stop), SIGKILL after 5 s; waits until gone.
stop_daemon() {
    local n=$1 pids main _
    [[ -n "${NSE[$n]:-}" ]] || return 0
    pids=$(daemon_pids "$n")
    main=${pids%% *}
    if [[ -n "$main" ]]; then
        kill -TERM "$main" 2>/dev/null || true
        for _ in $(seq 250); do kill -0 "${NSE[$n]}" 2>/dev/null || break; sleep 0.02; done
        if kill -0 "${NSE[$n]}" 2>/dev/null; then
            say "  $n: daemon did not stop within 5 s of SIGTERM; SIGKILL"
            echo "BENCH: daemon on $n did not stop within 5 s of SIGTERM" >>"$WORK/problems.txt"
            pids=$(daemon_pids "$n")
            [[ -n "$pids" ]] && kill -KILL $pids 2>/dev/null
        fi
    fi
    # The subshell exits when nsenter does, nsenter when the daemon does. Never wait forever.
    for _ in $(seq 100); do kill -0 "${NSE[$n]}" 2>/dev/null || break; sleep 0.02; done
    if kill -0 "${NSE[$n]}" 2>/dev/null; then
        echo "BENCH: nsenter/daemon on $n still there after SIGKILL; killed the wrapper" >>"$WORK/problems.txt"
        pids=$(pgrep -P "${NSE[$n]}" || true)
        kill -CONT $pids 2>/dev/null
        kill -KILL $pids "${NSE[$n]}" 2>/dev/null
    fi
    wait "${NSE[$n]}" 2>/dev/null || true
    NSE[$n]=""
    # Orphaned children (if any) are reaped by the node's init; make sure none is left.
    for _ in $(seq 100); do
        [[ -z "$(in_node "$n" pgrep -f -- "-f /etc/keepalived/keepalived.conf" 2>/dev/null || true)" ]] && break
        sleep 0.02
    done
}

# Removes VIPs a killed master left behind (the daemons also clean up at start).
clean_vips() {
    local n
    for n in "${NODES[@]}"; do
        ip -n "$ID-$n" -4 addr flush dev eth1 to "$VIP/32" 2>/dev/null || true
        ip -n "$ID-$n" -4 addr flush dev eth1 to "${VIP100_PREFIX}0/24" 2>/dev/null || true
    done
}

# wait_vip NODE ADDR TIMEOUT_S [COUNT] : waits until ip monitor on NODE has logged COUNT address
# adds matching ADDR (or prefix) since T_REF. Cheap: greps the log, the timing comes from it.
wait_vip() {
    local n=$1 addr=$2 to=$3 count=${4:-1} end
    end=$(calc "$EPOCHREALTIME + $to")
    while :; do
        [[ "$(python3 "$LIB" vip "$WORK/mon-$n.log" "$T_REF" "$addr" "$count")" != NA ]] && return 0
        awk -v a="$EPOCHREALTIME" -v b="$end" 'BEGIN { exit !(a > b) }' && return 1
        sleep 0.02
    done
}
# wait_log NODE REGEX TIMEOUT_S : waits for REGEX in the daemon log written since the last start.
wait_log() {
    local n=$1 re=$2 to=$3 _
    for _ in $(seq $((to * 50))); do
        tail -c +$((LOGOFF[$n] + 1)) "$WORK/$n/daemon.log" | grep -Eq -- "$re" && return 0
        sleep 0.02
    done
    return 1
}

# ---------------------------------------------------------------- 1. + 2. failover
# trial MASTER_IMPL BACKUP_IMPL SIGNAL VERSION ADVERT KEY COLUMN
#   n1 (prio 100) starts alone and becomes MASTER; n2 (prio 90) joins as BACKUP; then n1's
#   daemon gets SIGNAL (TERM: to the main process; KILL: to every process of it, children
#   first, so that no process of it can react). Records, under COLUMN:
#     start_vip/start_garp (only for KEY term/kill): n1 start -> VIP on n1 / n1's first GARP
#     KEY_vip, KEY_garp: signal -> VIP on n2 / n2's first GARP
#     KEY_adv (SIGKILL): the dead master's last advert on the wire -> VIP on n2
trial() {
    local mi=$1 bi=$2 sig=$3 ver=$4 adv=$5 key=$6 col=$7
    local c1=$WORK/n1-trial.conf c2=$WORK/n2-trial.conf v t_sig pids down
    down=$(down_interval "$ver" 100 "$adv")
    gen_conf "$c1" n1 "$ver" "$adv" 100 1
    gen_conf "$c2" n2 "$ver" "$adv" 90 1
    clean_vips

    start_daemon n1 "$mi" "$c1"
    T_REF=$T_START
    if ! wait_vip n1 "$VIP" "$(calc "$down + 5")"; then
        say "  $mi on n1 did not become MASTER within $(calc "$down + 5") s"
        echo "$mi on n1 did not become MASTER ($key trial); log: $(tail -n 5 "$WORK/n1/daemon.log")" >>"$WORK/problems.txt"
        rec "${key}_vip" "$col" NA
        stop_daemon n1
        return
    fi
    if [[ $key == term || $key == kill ]]; then
        sleep 0.1 # the first GARPs follow the VIP
        rec start_vip "$col" "$(python3 "$LIB" vip "$WORK/mon-n1.log" "$T_REF" "$VIP")"
        rec start_garp "$col" "$(python3 "$LIB" garp "$WORK/cap.txt" "$T_REF" "$VIP" "${MAC[n1]}")"
    fi

    start_daemon n2 "$bi" "$c2"
    wait_log n2 "Entering BACKUP STATE" 5 || say "  $bi on n2: no 'Entering BACKUP STATE' in its log"
    # Hear at least one advert from the master in BACKUP (then the down timer runs from it).
    sleep "$(calc "$adv * 1.5 + 0.2")"
    if ip -n "$ID-n2" -4 -o addr show dev eth1 | grep -q " $VIP/"; then
        say "  n2 ($bi) holds the VIP while n1 ($mi) is MASTER: split brain"
        echo "split brain: $bi backup on n2 took the VIP from $mi master on n1 ($key trial)" >>"$WORK/problems.txt"
    fi

    pids=$(daemon_pids n1)
    T_REF=$EPOCHREALTIME
    if [[ $sig == KILL ]]; then
        # Children first (keepalived's VRRP child, then the parent), in one builtin call a few
        # µs apart: the parent cannot respawn the child, and the child never sees its parent
        # die (keepalived's children would turn PDEATHSIG into an orderly priority-0 shutdown).
        # Not SIGSTOP first: nsenter mirrors a stopped child by stopping itself.
        kill -KILL $(printf '%s\n' $pids | tac) 2>/dev/null
    else
        kill -TERM "${pids%% *}"
    fi
    t_sig=$T_REF
    if wait_vip n2 "$VIP" "$(calc "$down + 5")"; then
        sleep 0.15 # the GARPs follow the VIP
        v=$(python3 "$LIB" vip "$WORK/mon-n2.log" "$t_sig" "$VIP")
        rec "${key}_vip" "$col" "$v"
        rec "${key}_garp" "$col" "$(python3 "$LIB" garp "$WORK/cap.txt" "$t_sig" "$VIP" "${MAC[n2]}")"
        if [[ $sig == KILL ]]; then
            local last
            # The last advert of the dead master: the last one before the takeover (an advert
            # may leave between reading the clock and the kill syscall).
            last=$(python3 "$LIB" lastadv "$WORK/cap.txt" "$(calc "$t_sig + $v")" "${MAC[n1]}")
            [[ $last != NA ]] && rec "${key}_adv" "$col" "$(calc "$t_sig + $v - $last")"
        fi
        say "  $key: master $mi, backup $bi: signal -> VIP on backup $v s (signal at $t_sig)"
    else
        say "  $key: master $mi, backup $bi: backup did not take over within $(calc "$down + 5") s"
        echo "no takeover: $bi backup on n2 after SIG$sig of $mi master ($key trial)" >>"$WORK/problems.txt"
        rec "${key}_vip" "$col" NA
    fi
    stop_daemon n2
    stop_daemon n1
}

section_failover() {
    local impl r
    limit start_vip "$(down_interval 2 100 1)"
    limit start_garp "$(down_interval 2 100 1)"
    limit term_vip "$(skew 2 90 1)"
    limit term_garp "$(skew 2 90 1)"
    limit kill_vip "$(down_interval 2 90 1)"
    limit kill_garp "$(down_interval 2 90 1)"
    limit kill_adv "$(down_interval 2 90 1)"
    limit v3kill_vip "$(down_interval 3 90 0.1)"
    limit v3kill_garp "$(down_interval 3 90 0.1)"
    limit v3kill_adv "$(down_interval 3 90 0.1)"
    for impl in "${IMPLS[@]}"; do
        for ((r = 1; r <= REPEAT; r++)); do
            if [[ $KINDS == *" term "* ]]; then
                say "failover $impl: SIGTERM, repeat $r/$REPEAT"
                trial "$impl" "$impl" TERM 2 1 term "$impl"
            fi
            if [[ $KINDS == *" kill "* ]]; then
                say "failover $impl: SIGKILL, repeat $r/$REPEAT"
                trial "$impl" "$impl" KILL 2 1 kill "$impl"
            fi
            if [[ $KINDS == *" v3kill "* ]]; then
                say "failover $impl: SIGKILL VRRPv3 advert_int 0.1, repeat $r/$REPEAT"
                trial "$impl" "$impl" KILL 3 0.1 v3kill "$impl"
            fi
        done
    done
}

section_mixed() {
    local r
    limit mix_vip "$(down_interval 2 90 1)"
    limit mix_garp "$(down_interval 2 90 1)"
    limit mix_adv "$(down_interval 2 90 1)"
    for ((r = 1; r <= REPEAT; r++)); do
        say "mixed: keepalived MASTER, rkeepalived BACKUP, SIGKILL, repeat $r/$REPEAT"
        trial keepalived rkeepalived KILL 2 1 mix rkeepalived
        say "mixed: rkeepalived MASTER, keepalived BACKUP, SIGKILL, repeat $r/$REPEAT"
        trial rkeepalived keepalived KILL 2 1 mix keepalived
    done
}

# ---------------------------------------------------------------- 3. + 4. footprint and CPU
# proc_rec NODE SUFFIX : records RSS/PSS/processes/threads/fds of NODE's daemon
proc_rec() {
    local n=$1 impl=$2 sfx=$3 pids rss pss procs threads fds
    pids=$(daemon_pids "$n")
    [[ -n "$pids" ]] || { echo "no daemon running on $n ($impl) at footprint $sfx" >>"$WORK/problems.txt"; return; }
    read -r rss pss procs threads fds _ _ <<<"$(python3 "$LIB" proc $pids)"
    case $sfx in
        1) rec rss1 "$impl" "$rss"; rec pss1 "$impl" "$pss"; rec procs1 "$impl" "$procs"
           rec threads1 "$impl" "$threads"; rec fds1 "$impl" "$fds" ;;
        100) rec rss100 "$impl" "$rss"; rec pss100 "$impl" "$pss"; rec procs100 "$impl" "$procs"
             rec threads100 "$impl" "$threads"; rec fds100 "$impl" "$fds" ;;
        100b) rec rss100b "$impl" "$rss" ;;
        100end) rec rss100end "$impl" "$rss" ;;
    esac
    say "  $impl on $n ($sfx): VmRSS $rss KiB, PSS $pss KiB, $procs processes, $threads threads, $fds fds"
}

section_binaries() {
    local impl
    for impl in "${IMPLS[@]}"; do
        rec bin_size "$impl" "$(stat -L -c %s "${BIN[$impl]}")"
        read -r total _ <<<"$(python3 "$LIB" libsize "${BIN[$impl]}")"
        rec bin_libs "$impl" "$total"
    done
    if [[ -x "$RKEEPALIVED_STATIC" ]]; then
        rec bin_static rkeepalived "$(stat -L -c %s "$RKEEPALIVED_STATIC")"
    else
        note bin_static rkeepalived "not built (make static)"
    fi
    note bin_static keepalived "-"
}

section_footprint() {
    local impl c1=$WORK/n1-fp.conf c2=$WORK/n2-fp.conf
    section_binaries
    gen_conf "$c1" n1 2 1 100 1
    gen_conf "$c2" n2 2 1 90 1
    for impl in "${IMPLS[@]}"; do
        say "footprint $impl: 1 instance"
        clean_vips
        start_daemon n1 "$impl" "$c1"
        T_REF=$T_START
        wait_vip n1 "$VIP" 10 || echo "$impl: no MASTER with 1 instance (footprint)" >>"$WORK/problems.txt"
        start_daemon n2 "$impl" "$c2"
        sleep 2
        proc_rec n1 "$impl" 1
        stop_daemon n2
        stop_daemon n1
    done
}

# cpu_ms NODE : "ticks_ms sched_ms ctxt_switches" of NODE's daemon (all processes and threads)
cpu_ms() { local a; a=$(python3 "$LIB" proc $(daemon_pids "$1")); echo "$a" | awk '{print $6, $7, $8}'; }

section_cpu() {
    local impl c1=$WORK/n1-100.conf c2=$WORK/n2-100.conf t0 t1 secs
    local m0 ms0 mw0 b0 bs0 bw0 m1 ms1 mw1 b1 bs1 bw1
    limit start100_vip "$(down_interval 2 100 1)"
    limit term100_vip "$(skew 2 90 1)"
    gen_conf "$c1" n1 2 1 100 100
    gen_conf "$c2" n2 2 1 90 100
    for impl in "${IMPLS[@]}"; do
        say "100 instances, $impl: start n1 (prio 100) and n2 (prio 90)"
        clean_vips
        # n1 alone first (its startup to 100 VIPs is measured), then n2 joins as BACKUP.
        start_daemon n1 "$impl" "$c1"
        T_REF=$T_START
        if wait_vip n1 "$VIP100_PREFIX" 15 100; then
            rec start100_vip "$impl" "$(python3 "$LIB" vip "$WORK/mon-n1.log" "$T_REF" "$VIP100_PREFIX" 100)"
        else
            echo "$impl: n1 did not get all 100 VIPs within 15 s" >>"$WORK/problems.txt"
            rec start100_vip "$impl" NA
        fi
        start_daemon n2 "$impl" "$c2"
        if ip -n "$ID-n2" -4 -o addr show dev eth1 | grep -q " $VIP100_PREFIX"; then
            echo "$impl: n2 (BACKUP, 100 instances) holds VIPs" >>"$WORK/problems.txt"
        fi
        local held
        # Past the second GARP block (5 s after MASTER) before measuring steady state.
        sleep 6
        proc_rec n1 "$impl" 100
        proc_rec n2 "$impl" 100b
        if [[ $SECTIONS == *" cpu "* ]]; then
            say "  CPU: ${CPU_SECS} s window"
            t0=$EPOCHREALTIME
            read -r m0 ms0 mw0 <<<"$(cpu_ms n1)"
            read -r b0 bs0 bw0 <<<"$(cpu_ms n2)"
            sleep "$CPU_SECS"
            read -r m1 ms1 mw1 <<<"$(cpu_ms n1)"
            read -r b1 bs1 bw1 <<<"$(cpu_ms n2)"
            t1=$EPOCHREALTIME
            secs=$(calc "$t1 - $t0")
            rec cpu_master "$impl" $((m1 - m0))
            rec cpu_master_pct "$impl" "$(calc "($m1 - $m0) / 10 / $secs")"
            rec cpu_master_sched "$impl" $((ms1 - ms0))
            rec cpu_backup "$impl" $((b1 - b0))
            rec cpu_backup_pct "$impl" "$(calc "($b1 - $b0) / 10 / $secs")"
            rec cpu_backup_sched "$impl" $((bs1 - bs0))
            rec cpu_adverts "$impl" "$(calc "$(python3 "$LIB" count "$WORK/cap.txt" "$t0" "$t1" "${MAC[n1]}") / $secs")"
            rec cpu_master_wake "$impl" "$(calc "($mw1 - $mw0) / $secs")"
            rec cpu_backup_wake "$impl" "$(calc "($bw1 - $bw0) / $secs")"
            say "  CPU $impl over $secs s: MASTER $((m1 - m0)) ms (sched $((ms1 - ms0)) ms), BACKUP $((b1 - b0)) ms (sched $((bs1 - bs0)) ms)"
            proc_rec n1 "$impl" 100end
            # Still 100 VIPs on the master?
            held=$(ip -n "$ID-n1" -4 -o addr show dev eth1 | grep -c " $VIP100_PREFIX" || true)
            [[ $held == 100 ]] || echo "$impl: MASTER holds $held of 100 VIPs after the CPU run" >>"$WORK/problems.txt"
        fi
        # SIGTERM the 100-instance MASTER: 100 priority-0 adverts, the BACKUP takes all over.
        local pids
        pids=$(daemon_pids n1)
        T_REF=$EPOCHREALTIME
        kill -TERM "${pids%% *}"
        if wait_vip n2 "$VIP100_PREFIX" 10 100; then
            rec term100_vip "$impl" "$(python3 "$LIB" vip "$WORK/mon-n2.log" "$T_REF" "$VIP100_PREFIX" 100)"
        else
            echo "$impl: BACKUP did not take all 100 VIPs within 10 s of SIGTERM to the MASTER" >>"$WORK/problems.txt"
            rec term100_vip "$impl" NA
        fi
        stop_daemon n1
        held=$(ip -n "$ID-n1" -4 -o addr show dev eth1 | grep -c " $VIP100_PREFIX" || true)
        [[ $held == 0 ]] || echo "$impl: $held VIPs left on the old MASTER after its SIGTERM shutdown" >>"$WORK/problems.txt"
        stop_daemon n2
        stop_daemon n1
    done
}

# ---------------------------------------------------------------- 5. -t
section_configtest() {
    local impl name conf out mean sd med rc
    install -m 0644 "$HERE/config/seed/node1.conf" "$WORK/n1/etc/seed.conf"
    install -m 0755 "$HERE/config/seed/checkng.sh" "$WORK/n1/etc/checkng.sh"
    gen_conf "$WORK/n1/etc/conf100.conf" n1 2 1 100 100
    for impl in "${IMPLS[@]}"; do
        for name in seed 100; do
            conf=/etc/keepalived/$( [[ $name == seed ]] && echo seed.conf || echo conf100.conf)
            rc=0
            in_node n1 "${BIN[$impl]}" -t -f "$conf" >/dev/null 2>&1 || rc=$?
            if command -v hyperfine >/dev/null; then
                out=$WORK/hf-$impl-$name.json
                in_node n1 hyperfine -N -i --warmup 3 --min-runs 20 --style none \
                    --export-json "$out" "${BIN[$impl]} -t -f $conf" >/dev/null 2>&1 || true
                read -r mean sd med <<<"$(python3 "$LIB" hf "$out")"
                note "t_$name" "$impl" "$mean ms ± $sd (median $med; exit $rc)"
            else
                # No hyperfine (apt-get install hyperfine): a timed loop of 50 runs inside the node.
                mean=$(in_node n1 bash -c '
                    b=$1 c=$2
                    for i in 1 2 3; do "$b" -t -f "$c" >/dev/null 2>&1; done
                    t0=$EPOCHREALTIME
                    for i in $(seq 50); do "$b" -t -f "$c" >/dev/null 2>&1; done
                    t1=$EPOCHREALTIME
                    awk -v a="$t0" -v b="$t1" "BEGIN { printf \"%.2f\", (b - a) * 1000 / 50 }"' \
                    _ "${BIN[$impl]}" "$conf")
                note "t_$name" "$impl" "$mean ms (mean of 50, bash loop; exit $rc)"
            fi
            say "  -t $impl $name: $(tail -n1 "$WORK/results.tsv" | cut -f4)"
        done
    done
}

# ---------------------------------------------------------------- main
build_lab
say "keepalived: ${BIN[keepalived]} ($("${BIN[keepalived]}" --version 2>&1 | head -n1))"
say "rkeepalived: ${BIN[rkeepalived]} ($("${BIN[rkeepalived]}" --version 2>&1 | head -n1))"
say "repeats $REPEAT, CPU window $CPU_SECS s, adverts $MODE, sections:$SECTIONS"

[[ $SECTIONS == *" failover "* ]] && section_failover
[[ $SECTIONS == *" mixed "* ]] && section_mixed
[[ $SECTIONS == *" footprint "* ]] && section_footprint
[[ $SECTIONS == *" footprint "* || $SECTIONS == *" cpu "* ]] && section_cpu
[[ $SECTIONS == *" configtest "* ]] && section_configtest

# Stop the capture (SIGINT: tcpdump prints its counters) and check that it lost nothing.
kill -INT "$CAP_PID" 2>/dev/null || true
wait "$CAP_PID" 2>/dev/null || true
CAP_PID=""
dropped=$(awk '/dropped by kernel/ {print $1}' "$WORK/cap.err")
if [[ -n "$dropped" && "$dropped" != 0 ]]; then
    echo "BENCH: the capture lost $dropped frames (kernel): GARP/advert numbers may be off" >>"$WORK/problems.txt"
fi

ELAPSED=$(calc "$EPOCHREALTIME - $T_BEGIN")
echo
python3 "$LIB" report "$WORK/results.tsv" "$RESULTS_MD" \
    "date=$(date -u '+%Y-%m-%d %H:%M UTC')" \
    "kernel=$(uname -r) ($(nproc) CPUs, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo))" \
    "keepalived=$("${BIN[keepalived]}" --version 2>&1 | head -n1) ${BIN[keepalived]}" \
    "rkeepalived=$("${BIN[rkeepalived]}" --version 2>&1 | head -n1) ${BIN[rkeepalived]} (git $(git -C "$HERE" rev-parse --short HEAD 2>/dev/null || echo '?'))" \
    "setup=2 nodes on a namespace bridge, VRRP adverts $MODE, node1 prio 100, node2 prio 90, repeats $REPEAT, CPU window ${CPU_SECS} s, load average $(cut -d' ' -f1-3 /proc/loadavg)" \
    "run time=$(printf '%.0f' "$ELAPSED") s"
if [[ -s "$WORK/problems.txt" ]]; then
    echo
    echo "Problems seen during the run:"
    sort "$WORK/problems.txt" | uniq -c | sed 's/^/  /'
    {
        echo "Problems seen during this run:"
        echo
        sort "$WORK/problems.txt" | uniq -c | sed 's/^ */- /'
        echo
    } >>"$RESULTS_MD"
fi
echo
echo "(appended to $RESULTS_MD)"
