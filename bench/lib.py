#!/usr/bin/env python3
"""Small helpers for bench/run.sh: event timestamps, /proc readings, the final report.

    lib.py vip  MONLOG T0 VIP [COUNT]    seconds from T0 (epoch) to the COUNT-th distinct
                                         address add (default 1) matching VIP in an
                                         `ip -ts monitor address` log; VIP may be a prefix
                                         such as "10.77.1." (then COUNT distinct addresses)
    lib.py garp CAPTURE T0 VIP MAC       seconds from T0 to the first ARP frame from MAC that
                                         names VIP, in a `tcpdump -tt -e -n` text capture
    lib.py proc PID...                   one line: rss_kb pss_kb procs threads fds
                                         cpu_ticks_ms sched_ms ctxt_switches (summed over
                                         the PIDs and all their threads)
    lib.py libsize BINARY                bytes of BINARY + every shared library ldd lists
    lib.py lastadv CAPTURE T MAC         epoch of MAC's last VRRP frame before T
    lib.py hf JSON                       "mean sd median" (ms) from a hyperfine JSON export
    lib.py count CAPTURE T0 T1 MAC       number of VRRP frames from MAC in [T0, T1)
    lib.py stats V...                    "min median max" of the numbers (NA skipped)
    lib.py report RESULTS MD_OUT KEY=VAL...   the table (stdout) and markdown (appended)

Every number printed is plain text so that bash can use it; "NA" means "did not happen".
"""

import datetime
import os
import re
import statistics
import subprocess
import sys

TS_RE = re.compile(r"^\[(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+)\]\s*(.*)$")


def mon_events(path):
    """(epoch, addr) for every address add in an `ip -ts monitor address` log."""
    out = []
    try:
        f = open(path, encoding="utf-8", errors="replace")
    except OSError:
        return out
    with f:
        for line in f:
            m = TS_RE.match(line)
            if not m:
                continue
            rest = m.group(2)
            if rest.startswith("Deleted"):
                continue
            a = re.search(r"\binet6?\s+(\S+)", rest)
            if not a:
                continue
            # ip prints local time; the bench runs on the same machine, same TZ.
            t = datetime.datetime.fromisoformat(m.group(1)).timestamp()
            out.append((t, a.group(1).split("/")[0]))
    return out


def cmd_vip(path, t0, vip, count="1"):
    t0, count = float(t0), int(count)
    seen = set()
    for t, addr in mon_events(path):
        if t < t0:
            continue
        if addr == vip or (vip.endswith(".") and addr.startswith(vip)):
            seen.add(addr)
            if len(seen) >= count:
                print(f"{t - t0:.4f}")
                return
    print("NA")


def cmd_garp(path, t0, vip, mac):
    t0, mac = float(t0), mac.lower()
    vip_re = re.compile(r"(?<![\d.])" + re.escape(vip) + r"(?![\d])")
    try:
        f = open(path, encoding="utf-8", errors="replace")
    except OSError:
        print("NA")
        return
    with f:
        for line in f:
            parts = line.split()
            if len(parts) < 3 or "ARP" not in line:
                continue
            try:
                t = float(parts[0])
            except ValueError:
                continue
            if t < t0 or parts[1].lower() != mac:
                continue
            if vip_re.search(line):
                print(f"{t - t0:.4f}")
                return
    print("NA")


def cmd_lastadv(path, t0, mac):
    """Epoch of the last VRRP frame from MAC strictly before T0 (the dead master's last advert)."""
    t0, mac = float(t0), mac.lower()
    last = None
    try:
        f = open(path, encoding="utf-8", errors="replace")
    except OSError:
        print("NA")
        return
    with f:
        for line in f:
            parts = line.split()
            if len(parts) < 3 or "VRRP" not in line or parts[1].lower() != mac:
                continue
            try:
                t = float(parts[0])
            except ValueError:
                continue
            if t < t0:
                last = t
    print("NA" if last is None else f"{last:.6f}")


def cmd_count(path, t0, t1, mac):
    """Number of VRRP frames from MAC with t0 <= timestamp < t1."""
    t0, t1, mac = float(t0), float(t1), mac.lower()
    n = 0
    try:
        f = open(path, encoding="utf-8", errors="replace")
    except OSError:
        print(0)
        return
    with f:
        for line in f:
            parts = line.split()
            if len(parts) < 3 or "VRRP" not in line or parts[1].lower() != mac:
                continue
            try:
                t = float(parts[0])
            except ValueError:
                continue
            if t0 <= t < t1:
                n += 1
    print(n)


def read(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def cmd_proc(*pids):
    rss = pss = threads = fds = ticks = sched_ns = procs = switches = 0
    hz = os.sysconf("SC_CLK_TCK")
    for pid in pids:
        status = read(f"/proc/{pid}/status")
        if not status:
            continue
        procs += 1
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                rss += int(line.split()[1])
            elif line.startswith("Threads:"):
                threads += int(line.split()[1])
        for line in read(f"/proc/{pid}/smaps_rollup").splitlines():
            if line.startswith("Pss:"):
                pss += int(line.split()[1])
        try:
            fds += len(os.listdir(f"/proc/{pid}/fd"))
        except OSError:
            pass
        stat = read(f"/proc/{pid}/stat")
        fields = stat.rsplit(")", 1)[-1].split()
        if len(fields) > 12:
            # after the comm: state(0) ppid(1) ... utime(11) stime(12)
            ticks += int(fields[11]) + int(fields[12])
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except OSError:
            tids = []
        for tid in tids:
            s = read(f"/proc/{pid}/task/{tid}/schedstat").split()
            if s:
                sched_ns += int(s[0])
            for line in read(f"/proc/{pid}/task/{tid}/status").splitlines():
                if line.startswith(("voluntary_ctxt_switches:", "nonvoluntary_ctxt_switches:")):
                    switches += int(line.split()[1])
    print(rss, pss, procs, threads, fds, ticks * 1000 // hz, sched_ns // 1_000_000, switches)


def cmd_libsize(binary):
    files = {os.path.realpath(binary)}
    try:
        out = subprocess.run(["ldd", binary], capture_output=True, text=True).stdout
    except OSError:
        out = ""
    for line in out.splitlines():
        m = re.search(r"(/\S+)\s+\(0x", line)
        if m:
            files.add(os.path.realpath(m.group(1)))
    total = 0
    for f in files:
        try:
            total += os.path.getsize(f)
        except OSError:
            pass
    print(total, len(files) - 1)


def cmd_hf(path):
    """mean, stddev, median (ms) of the first result of a hyperfine --export-json file."""
    import json

    try:
        r = json.loads(read(path))["results"][0]
        print(f"{r['mean'] * 1000:.2f} {r['stddev'] * 1000:.2f} {r['median'] * 1000:.2f}")
    except (ValueError, KeyError, IndexError, TypeError):
        print("NA NA NA")


def nums(vals):
    out = []
    for v in vals:
        try:
            out.append(float(v))
        except ValueError:
            pass
    return out


def cmd_stats(*vals):
    v = nums(vals)
    if not v:
        print("NA NA NA")
        return
    print(f"{min(v):.4f} {statistics.median(v):.4f} {max(v):.4f}")


# ------------------------------------------------------------------------ report
#
# RESULTS is a TSV written by run.sh:
#   sample  KEY  IMPL  VALUE          one measurement (seconds, KiB, bytes, ...)
#   limit   KEY  -     VALUE          the protocol limit for KEY (seconds)
#   note    KEY  IMPL  TEXT           free text shown in a cell instead of a number
# KEY decides the section, label and formatting (ROWS below).

IMPLS = ["keepalived", "rkeepalived"]

# (key, label, kind) kind: time (min/med/max s), size (bytes), kib, int, ms, pct, text
ROWS = [
    ("Failover (seconds: min / median / max over the repeats)", None, None),
    ("start_vip", "startup -> MASTER, VIP added (v2, advert_int 1)", "time"),
    ("start_garp", "startup -> MASTER, first GARP", "time"),
    ("term_vip", "SIGTERM master -> VIP on backup (v2, advert_int 1)", "time"),
    ("term_garp", "SIGTERM master -> backup's first GARP", "time"),
    ("kill_vip", "SIGKILL master -> VIP on backup (v2, advert_int 1)", "time"),
    ("kill_garp", "SIGKILL master -> backup's first GARP", "time"),
    ("kill_adv", "SIGKILL: dead master's last advert -> VIP on backup", "time"),
    ("v3kill_vip", "SIGKILL master -> VIP on backup (v3, advert_int 0.1)", "time"),
    ("v3kill_garp", "SIGKILL master -> backup's first GARP (v3, 0.1)", "time"),
    ("v3kill_adv", "SIGKILL: dead master's last advert -> VIP on backup (v3, 0.1)", "time"),
    ("mix_vip", "mixed pair: SIGKILL other daemon's master -> VIP on this backup", "time"),
    ("mix_garp", "mixed pair: ... -> this backup's first GARP", "time"),
    ("mix_adv", "mixed pair: dead master's last advert -> VIP on this backup", "time"),
    ("start100_vip", "startup -> all 100 VIPs added (100 instances)", "time"),
    ("term100_vip", "SIGTERM master -> all 100 VIPs on backup (100 instances)", "time"),
    ("Footprint", None, None),
    ("bin_size", "binary file size", "size"),
    ("bin_libs", "binary + shared libraries (ldd)", "size"),
    ("bin_static", "static musl binary", "size"),
    ("rss1", "VmRSS, 1 instance, MASTER (all processes)", "kib"),
    ("pss1", "PSS, 1 instance, MASTER (all processes)", "kib"),
    ("rss100", "VmRSS, 100 instances, MASTER", "kib"),
    ("pss100", "PSS, 100 instances, MASTER", "kib"),
    ("rss100b", "VmRSS, 100 instances, BACKUP", "kib"),
    ("rss100end", "VmRSS, 100 instances, MASTER, after the CPU run", "kib"),
    ("procs1", "processes, 1 instance", "int"),
    ("threads1", "threads, 1 instance", "int"),
    ("fds1", "open fds, 1 instance", "int"),
    ("procs100", "processes, 100 instances", "int"),
    ("threads100", "threads, 100 instances", "int"),
    ("fds100", "open fds, 100 instances", "int"),
    ("CPU (100 instances, advert_int 1, VRRPv2)", None, None),
    ("cpu_adverts", "MASTER: adverts on the wire per second (expect ~100)", "rate"),
    ("cpu_master", "MASTER: utime+stime", "ms"),
    ("cpu_master_pct", "MASTER: % of one core", "pct"),
    ("cpu_master_sched", "MASTER: on-CPU time (schedstat, ns precision)", "ms"),
    ("cpu_master_wake", "MASTER: context switches (wake-ups) per second", "rate"),
    ("cpu_backup", "BACKUP: utime+stime", "ms"),
    ("cpu_backup_pct", "BACKUP: % of one core", "pct"),
    ("cpu_backup_sched", "BACKUP: on-CPU time (schedstat)", "ms"),
    ("cpu_backup_wake", "BACKUP: context switches (wake-ups) per second", "rate"),
    ("Config test (-t), wall time per run", None, None),
    ("t_seed", "-t on the seed config (1 instance, 1 script)", "text"),
    ("t_100", "-t on the 100-instance config", "text"),
]


def fmt_size(b):
    b = float(b)
    if b >= 1 << 20:
        return f"{b / (1 << 20):.2f} MiB"
    return f"{b / 1024:.0f} KiB"


def fmt_cell(kind, vals, notes):
    if notes:
        return "; ".join(notes)
    v = nums(vals)
    if not vals:
        return "-"
    if not v:
        return "NA"
    if kind == "time":
        na = len(vals) - len(v)
        s = f"{min(v):.3f} / {statistics.median(v):.3f} / {max(v):.3f}"
        return s + (f" ({na} NA)" if na else "")
    x = statistics.median(v)
    if kind == "size":
        return fmt_size(x)
    if kind == "kib":
        return f"{x / 1024:.1f} MiB" if x >= 10240 else f"{x:.0f} KiB"
    if kind == "int":
        return f"{x:.0f}"
    if kind == "ms":
        return f"{x:.0f} ms"
    if kind == "rate":
        return f"{x:.1f} /s"
    if kind == "pct":
        return f"{x:.3f} %"
    return str(x)


def cmd_report(results, md_out, *meta):
    samples, limits, notes = {}, {}, {}
    for line in read(results).splitlines():
        parts = line.split("\t")
        if len(parts) < 4:
            continue
        kind, key, impl, val = parts[0], parts[1], parts[2], parts[3]
        if kind == "sample":
            samples.setdefault((key, impl), []).append(val)
        elif kind == "limit":
            limits[key] = val
        elif kind == "note":
            notes.setdefault((key, impl), []).append(val)
    meta_kv = [m.split("=", 1) for m in meta if "=" in m]

    table = []  # (label, limit, cells) or (section,)
    for key, label, kind in ROWS:
        if label is None:
            table.append((key,))
            continue
        cells = [fmt_cell(kind, samples.get((key, i), []), notes.get((key, i), [])) for i in IMPLS]
        if all(c == "-" for c in cells):
            continue
        lim = limits.get(key, "")
        if lim:
            lim = f"{float(lim):.3f}"
        table.append((label, lim, cells))

    # drop sections that have no rows (sections not run)
    kept = []
    for i, r in enumerate(table):
        if len(r) == 1 and (i + 1 >= len(table) or len(table[i + 1]) == 1):
            continue
        kept.append(r)
    table = kept
    if not any(len(r) == 3 for r in table):
        print("no results")
        return

    # text table
    w0 = max(len(r[0]) for r in table if len(r) == 3)
    wl = max([len("limit")] + [len(r[1]) for r in table if len(r) == 3])
    wc = [max([len(IMPLS[i])] + [len(r[2][i]) for r in table if len(r) == 3]) for i in range(2)]
    lines = []
    for k, v in meta_kv:
        lines.append(f"{k}: {v}")
    for r in table:
        if len(r) == 1:
            lines.append("")
            lines.append(f"{r[0]:<{w0}}  {'limit':>{wl}}  {IMPLS[0]:<{wc[0]}}  {IMPLS[1]:<{wc[1]}}")
            lines.append("-" * (w0 + wl + wc[0] + wc[1] + 6))
        else:
            lines.append(f"{r[0]:<{w0}}  {r[1]:>{wl}}  {r[2][0]:<{wc[0]}}  {r[2][1]:<{wc[1]}}")
    print("\n".join(lines))

    # markdown
    md = []
    md.append(f"## Run of {dict(meta_kv).get('date', '?')}")
    md.append("")
    for k, v in meta_kv:
        if k != "date":
            md.append(f"- {k}: {v}")
    for r in table:
        if len(r) == 1:
            md.append("")
            md.append(f"| {r[0]} | limit (s) | keepalived | rkeepalived |")
            md.append("| --- | ---: | --- | --- |")
        else:
            md.append(f"| {r[0]} | {r[1]} | {r[2][0]} | {r[2][1]} |")
    md.append("")
    with open(md_out, "a", encoding="utf-8") as f:
        f.write("\n".join(md) + "\n")


def main(argv):
    cmds = {
        "vip": cmd_vip,
        "garp": cmd_garp,
        "lastadv": cmd_lastadv,
        "count": cmd_count,
        "proc": cmd_proc,
        "libsize": cmd_libsize,
        "stats": cmd_stats,
        "hf": cmd_hf,
        "report": cmd_report,
    }
    if len(argv) < 2 or argv[1] not in cmds:
        sys.stderr.write(__doc__)
        return 2
    cmds[argv[1]](*argv[2:])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
