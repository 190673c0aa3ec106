#!/usr/bin/env python3
"""Differential tester: `rkeepalived -t` vs `keepalived -t` (2.2.7) exit codes.

Generates config variants by mutating tests/configs/*.conf and config/seed/*.conf (drop,
duplicate or move lines; swap a keyword for another one of the same block; boundary and
garbage values; brace moves; wrong nesting; IPv4/IPv6 and prefix changes; dev names; quotes;
extra words ...), runs both binaries on every variant inside ONE `unshare -mn` namespace per
batch (same fake host as tests/config_keepalived_compare.rs: veth eth1/eth2, eth2 mtu 576,
tmpfs /etc/keepalived with the test scripts, config id node1) and reports exit-code
mismatches grouped by a rough cause signature. keepalived crashes/timeouts are ignored.

Needs root, unshare and /usr/sbin/keepalived; run `cargo build` first.

usage:
  python3 scripts/tdiff.py [-n 2000] [--seed 1] [--batch 200] [--out target/tdiff]
  python3 scripts/tdiff.py --files a.conf b.conf      # just compare these files
  python3 scripts/tdiff.py --replay target/tdiff      # re-run saved mismatches
  (--lvs also mutates configs with LVS blocks; configs in DELIBERATE_DIFFERENCES are skipped)

Output: OUT/mismatches.jsonl (one record per mismatch), OUT/m/<id>.conf (+ .ka/.rk outputs),
and a summary on stdout grouped by signature.
"""

import argparse
import collections
import glob
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KEEPALIVED = "/usr/sbin/keepalived"
OURS = os.path.join(ROOT, "target", "debug", "rkeepalived")

PRELUDE = r"""set -e
mount -t tmpfs none /etc/keepalived
mount -t sysfs none /sys
cp "$SEED_SCRIPT" /etc/keepalived/checkng.sh
chown 0:0 /etc/keepalived/checkng.sh; chmod 755 /etc/keepalived/checkng.sh
printf '#!/bin/sh\nexit 0\n' > /etc/keepalived/insecure.sh; chmod 777 /etc/keepalived/insecure.sh
printf '#!/bin/sh\nexit 0\n' > /etc/keepalived/noexec.sh; chmod 644 /etc/keepalived/noexec.sh
mkdir /etc/keepalived/wdir; chmod 777 /etc/keepalived/wdir
printf '#!/bin/sh\nexit 0\n' > /etc/keepalived/wdir/check.sh; chmod 755 /etc/keepalived/wdir/check.sh
printf '#!/bin/sh\nexit 0\n' > /etc/keepalived/notroot.sh; chmod 755 /etc/keepalived/notroot.sh
chown 65534:65534 /etc/keepalived/notroot.sh
printf 'exit 0\n' > /etc/keepalived/noshebang.sh; chmod 755 /etc/keepalived/noshebang.sh
for i in eth1 eth2; do ip link add $i type veth peer name ${i}p; ip link set $i up; done
ip link set eth2 mtu 576
set +e
both() {
  name=$1; f=$2
  timeout 10 "$KA" -t -l -f "$f" -i node1 -p "$T/ka.pid" -r "$T/ka_vrrp.pid" -c "$T/ka_chk.pid" -b "$T/ka_bfd.pid" > "$T/$name.ka" 2>&1
  ka=$?
  timeout 10 "$OURS" -t -l -f "$f" -i node1 -p "$T/rk.pid" -r "$T/rk_vrrp.pid" > "$T/$name.rk" 2>&1
  rk=$?
  echo "RES $name $ka $rk"
}
"""

# Keywords per block (context = path of block keywords), from the reference and model.rs;
# the corpus adds whatever it uses.
KEYWORDS = {
    "": "global_defs vrrp_script vrrp_instance vrrp_sync_group vrrp_track_process track_file "
    "vrrp_track_file static_ipaddress static_routes static_rules garp_group "
    "linkbeat_interfaces track_group include net_namespace use_pid_dir instance "
    "virtual_server interface_up_down_delays",
    "global_defs": "router_id script_user enable_script_security vrrp_version vrrp_strict "
    "vrrp_mcast_group4 vrrp_mcast_group6 vrrp_check_unicast_src vrrp_skip_check_adv_addr "
    "vrrp_garp_master_delay vrrp_garp_master_repeat vrrp_garp_lower_prio_delay "
    "vrrp_garp_lower_prio_repeat vrrp_garp_master_refresh vrrp_garp_master_refresh_repeat "
    "vrrp_garp_interval vrrp_gna_interval vrrp_min_garp vrrp_down_timer_adverts "
    "vrrp_lower_prio_no_advert vrrp_higher_prio_send_advert vrrp_notify_fifo notify_fifo "
    "vrrp_notify_fifo_script notify_fifo_script vrrp_startup_delay vrrp_priority "
    "vrrp_rt_priority vrrp_rlimit_rttime max_auto_priority vrrp_no_swap vrrp_cpu_affinity "
    "dynamic_interfaces default_interface log_unknown_vrids vmac_prefix umask "
    "notification_email notification_email_from smtp_server smtp_connect_timeout "
    "smtp_helo_name lvs_id enable_snmp_vrrp enable_traps startup_script shutdown_script "
    "vrrp_iptables nftables enable_dbus process_names random_seed",
    "vrrp_script": "script interval timeout weight rise fall user init_fail",
    "vrrp_instance": "state interface virtual_router_id priority advert_int version nopreempt "
    "preempt preempt_delay authentication virtual_ipaddress virtual_ipaddress_excluded "
    "virtual_routes virtual_rules unicast_src_ip unicast_peer unicast_ttl mcast_src_ip "
    "mcast_dst_ip track_interface track_script track_file track_process dont_track_primary "
    "use_vmac vmac_xmit_base garp_master_delay garp_master_repeat garp_master_refresh "
    "down_timer_adverts accept no_accept notify_master notify_backup notify_fault notify_stop "
    "notify smtp_alert strict_mode skip_check_adv_addr check_unicast_src native_ipv6 "
    "promote_secondaries track_src_ip lvs_sync_daemon_interface debug",
    "vrrp_instance/authentication": "auth_type auth_pass",
    "vrrp_sync_group": "group track_interface track_script notify_master notify_backup "
    "notify_fault notify smtp_alert global_tracking sync_group_tracking_weight",
    "vrrp_track_process": "process weight quorum quorum_max delay fork_delay terminate_delay "
    "full_command param_match",
    "track_file": "file weight init_file",
    "track_group": "group",
    "garp_group": "garp_interval gna_interval interface interfaces",
}

# Realistic lines to insert, per block (the shapes users write: VMAC, accept modes, strict
# mode, AH, notify scripts, unicast, IPv6/v3, sync groups, static blocks with track groups).
SNIPPETS = {
    "": [
        "static_ipaddress {\n    10.50.0.1/24 dev eth2 track_group TG1\n}",
        "static_ipaddress {\n    10.50.0.2/24 dev eth2\n}",
        "static_routes {\n    10.60.0.0/16 via 10.16.200.254 dev eth1 track_group TG1\n}",
        "static_routes {\n    10.61.0.0/16 via 10.16.200.254\n}",
        "static_rules {\n    from 10.50.0.0/24 table 100 priority 100 dev eth2 track_group TG1\n}",
        "static_rules {\n    from 10.50.0.0/24 table 100\n}",
        "track_group TG1 {\n    group {\n        VI_1\n    }\n}",
        "vrrp_sync_group SG1 {\n    group {\n        VI_1\n        VI_2\n    }\n}",
        "vrrp_sync_group SG2 {\n    group {\n        VI_1\n    }\n    notify_master \"/etc/keepalived/checkng.sh master\"\n}",
        "vrrp_script chk {\n    script \"/etc/keepalived/checkng.sh\"\n    interval 2\n}",
        "vrrp_instance VI_2 {\n    interface eth1\n    virtual_router_id 52\n    virtual_ipaddress {\n        10.16.200.52\n    }\n}",
        "vrrp_instance VI_6 {\n    interface eth1\n    virtual_router_id 56\n    native_ipv6\n    virtual_ipaddress {\n        fe80::56/64\n    }\n}",
        "global_defs {\n    enable_script_security\n}",
    ],
    "global_defs": [
        "vrrp_strict", "vrrp_version 3", "vrrp_version 2", "enable_script_security",
        "script_user root", "script_user nobody", "vrrp_skip_check_adv_addr",
        "vrrp_garp_master_delay 1", "vrrp_iptables", "vrrp_iptables INPUT", "nftables",
        "nftables keepalived", "notify_fifo /run/k.fifo", "dynamic_interfaces",
        "notify_fifo_script /etc/keepalived/checkng.sh", "router_id lb2", "vmac_prefix 00:00:5e",
    ],
    "vrrp_instance": [
        "use_vmac", "use_vmac vrrp.51", "use_vmac vrrp51 extra", "vmac_xmit_base", "no_accept",
        "accept", "strict_mode", "strict_mode on", "strict_mode off", "native_ipv6",
        "version 3", "version 2", "advert_int 0.5", "nopreempt", "preempt_delay 30",
        "state MASTER", "state BACKUP", "priority 255", "priority 150",
        "notify_master \"/etc/keepalived/checkng.sh master\"",
        "notify /etc/keepalived/checkng.sh", "notify_backup /etc/keepalived/noexec.sh",
        "notify_fault /etc/keepalived/insecure.sh", "notify_stop /nonexistent.sh",
        "unicast_src_ip 10.16.200.11", "unicast_peer {\n        10.16.200.12\n    }",
        "authentication {\n        auth_type AH\n        auth_pass abc\n    }",
        "authentication {\n        auth_type PASS\n        auth_pass 12345678\n    }",
        "track_interface {\n        eth2\n    }", "track_interface {\n        eth2 weight -10\n    }",
        "virtual_ipaddress_excluded {\n        fe80::1/64\n    }",
        "virtual_ipaddress {\n        2001:db8::5/64\n    }",
        "virtual_routes {\n        10.70.0.0/16 via 10.16.200.1 dev eth1\n    }",
        "virtual_rules {\n        from 10.16.200.0/24 table 200\n    }",
        "track_script {\n        chk\n    }", "track_script {\n        chk weight 10\n    }",
        "mcast_src_ip 10.16.200.11", "garp_master_delay 5", "smtp_alert",
    ],
    "vrrp_instance/authentication": ["auth_type AH", "auth_type PASS", "auth_pass abc"],
    "vrrp_sync_group": [
        "notify_master \"/etc/keepalived/checkng.sh master\"", "smtp_alert",
        "track_script {\n        chk\n    }", "global_tracking",
    ],
    "vrrp_script": ["user root", "user nobody", "init_fail", "weight -20", "rise 2", "fall 3"],
}

GARBAGE = ["0", "-1", "1", "2", "3", "254", "255", "256", "65535", "4294967296",
           "99999999999999999999", "1.5", "0.5", "0.01", "-0.5", "1e3", "0x10", "abc", '""', '"x"',
           "''", "yes", "no", "on", "true", "BACKUP", "MASTER", "PASS", "AH", "eth1", "eth2",
           "eth9", "lo", "10.0.0.1", "10.0.0.1/24", "fe80::1", "2001:db8::1/64", "::",
           "255.255.255.255", "/etc/keepalived/checkng.sh", "/nonexistent", "-", "+", ";", "100;",
           "1 2", "{", "}", "#x", "$X", "${_INSTANCE}", "a" * 40, "é", "%"]

IF_NAMES = ["eth1", "eth2", "eth9", "lo", "eth1:1", "bond0", "eth1.100", "ETH1", ""]
ADDR_SWAPS = ["10.16.200.200", "10.16.200.200/24", "10.16.200.200/33", "10.16.200.200/0",
              "fe80::10", "2001:db8::10/64", "2001:db8::10/129", "10.16.200", "10.16.200.256",
              "10.16.200.200/", "10.16.200.200/24/1", "::ffff:10.1.1.1", "224.0.0.18",
              "0.0.0.0", "ff02::12", "1.2.3.4-5", "[fe80::1]"]
COMMENT_RE = re.compile(r"[#!]")


def strip_comment(line):
    out, q = [], False
    for i, c in enumerate(line):
        if c == '"':
            q = not q
        if not q and c in "#!" and not (i > 0 and line[i - 1] == "\\"):
            break
        out.append(c)
    return "".join(out)


def contexts(lines):
    """For each line: (context path, first token or None)."""
    stack, res, prev_first = [], [], None
    for line in lines:
        code = strip_comment(line)
        toks = code.replace("{", " { ").replace("}", " } ").split()
        res.append(("/".join(stack), toks[0] if toks and toks[0] not in "{}" else None))
        first = None
        for t in toks:
            if t == "{":
                stack.append(first or prev_first or "?")
                first = prev_first = None
            elif t == "}":
                if stack:
                    stack.pop()
                first = prev_first = None
            elif first is None:
                first = t
        if first is not None:
            prev_first = first
    return res


def norm_ctx(ctx):
    parts = ctx.split("/") if ctx else []
    return "/".join(parts[:2])


def harvest(corpus, lvs=False):
    kw = collections.defaultdict(set)
    for ctx, words in KEYWORDS.items():
        kw[ctx].update(words.split())
    for lines in corpus.values():
        for ctx, first in contexts(lines):
            if first and re.match(r"^[a-z_][a-z0-9_]*$", first):
                kw[norm_ctx(ctx)].add(first)
    # keywords newer than 2.2.7 / rkeepalived extensions: deliberate differences
    newer = {"json_version", "state_dump_file", "state_file_location", "v3_checksum_as_v2",
             "owner_ignore_adverts", "vrrp_owner_ignore_adverts", "no_virtual_ipaddress",
             "set_supplementary_groups", "use_symlink_paths", "notify_in_order"}
    if not lvs:  # LVS blocks are skipped by design (deliberate difference): do not add them
        newer |= {"virtual_server", "virtual_server_group"}
    return {k: sorted(v - newer) for k, v in kw.items()}


def split_line(line):
    m = re.match(r"^(\s*)(.*?)(\s*)$", line)
    return m.group(1), m.group(2)


def tokens_of(line):
    return strip_comment(line).split()


class Mutator:
    def __init__(self, rng, keywords):
        self.rng = rng
        self.kw = keywords

    def code_lines(self, lines):
        return [i for i, l in enumerate(lines) if tokens_of(l)]

    def pick(self, lines):
        c = self.code_lines(lines)
        return self.rng.choice(c) if c else None

    def mutate(self, lines):
        ops = [
            (self.drop, 6), (self.dup, 4), (self.move, 3), (self.swap_kw, 10),
            (self.value, 14), (self.extra_word, 5), (self.brace_next_line, 3),
            (self.brace_remove, 3), (self.brace_extra, 2), (self.wrong_level, 6),
            (self.addr, 8), (self.dev, 5), (self.quote, 4), (self.case, 2),
            (self.insert_kw, 10), (self.semicolon, 2), (self.no_value, 5),
            (self.one_line_block, 2), (self.typo, 4), (self.snippet, 10),
            (self.track_group_line, 2),
        ]
        fns = [f for f, w in ops for _ in range(w)]
        f = self.rng.choice(fns)
        return f(list(lines))

    def drop(self, L):
        i = self.pick(L)
        if i is None:
            return None
        d = "drop %s" % tokens_of(L[i])[0]
        del L[i]
        return L, d

    def dup(self, L):
        i = self.pick(L)
        if i is None:
            return None
        L.insert(i + 1, L[i])
        return L, "dup %s" % tokens_of(L[i])[0]

    def move(self, L):
        i = self.pick(L)
        if i is None:
            return None
        line = L.pop(i)
        j = self.rng.randrange(len(L) + 1)
        L.insert(j, line)
        return L, "move %s" % tokens_of(line)[0]

    def swap_kw(self, L):
        ctxs = contexts(L)
        cand = [i for i, (c, f) in enumerate(ctxs) if f and self.kw.get(norm_ctx(c))]
        if not cand:
            return None
        i = self.rng.choice(cand)
        ctx, first = ctxs[i]
        new = self.rng.choice(self.kw[norm_ctx(ctx)])
        L[i] = L[i].replace(first, new, 1)
        return L, "swap %s>%s in %s" % (first, new, norm_ctx(ctx))

    def value(self, L):
        cand = [i for i in self.code_lines(L) if len(tokens_of(L[i])) >= 2]
        if not cand:
            return None
        i = self.rng.choice(cand)
        toks = tokens_of(L[i])
        k = self.rng.randrange(1, len(toks))
        if toks[k] in "{}":
            return None
        g = self.rng.choice(GARBAGE)
        ind, _ = split_line(L[i])
        toks[k] = g
        L[i] = ind + " ".join(toks)
        return L, "value %s=%s" % (toks[0], g if len(g) < 12 else "long")

    def extra_word(self, L):
        i = self.pick(L)
        if i is None:
            return None
        toks = tokens_of(L[i])
        if "{" in toks:
            return None
        w = self.rng.choice(["extra", "1", "yes", "dev", "eth1", '"x"', "weight", "-5"])
        L[i] = L[i].rstrip() + " " + w
        return L, "extra %s+%s" % (toks[0], w)

    def brace_next_line(self, L):
        cand = [i for i, l in enumerate(L) if strip_comment(l).rstrip().endswith("{")]
        if not cand:
            return None
        i = self.rng.choice(cand)
        s = strip_comment(L[i]).rstrip()
        ind, _ = split_line(L[i])
        L[i:i + 1] = [s[:-1].rstrip(), ind + "{"]
        return L, "brace_nl %s" % tokens_of(s)[0]

    def brace_remove(self, L):
        cand = [i for i, l in enumerate(L) if "{" in strip_comment(l) or "}" in strip_comment(l)]
        if not cand:
            return None
        i = self.rng.choice(cand)
        ch = "{" if "{" in strip_comment(L[i]) and self.rng.random() < 0.5 else "}"
        if ch not in strip_comment(L[i]):
            ch = "{" if ch == "}" else "}"
        first = (tokens_of(L[i]) or ["?"])[0]
        L[i] = L[i].replace(ch, " ", 1)
        return L, "brace_rm %s %s" % (ch, first)

    def brace_extra(self, L):
        j = self.rng.randrange(len(L) + 1)
        ch = self.rng.choice(["}", "{", "{ }"])
        L.insert(j, ch)
        return L, "brace_extra %s" % ch

    def wrong_level(self, L):
        ctxs = contexts(L)
        cand = [i for i, (c, f) in enumerate(ctxs) if f and c]
        if not cand:
            return None
        i = self.rng.choice(cand)
        line = L.pop(i)
        # destination: just after a block opening of another context, or top level end
        opens = [j for j, l in enumerate(L) if strip_comment(l).rstrip().endswith("{")]
        if opens and self.rng.random() < 0.7:
            j = self.rng.choice(opens) + 1
        else:
            j = len(L)
        L.insert(j, line)
        return L, "wrong_level %s from %s" % (ctxs[i][1], norm_ctx(ctxs[i][0]))

    def addr(self, L):
        pat = re.compile(r"\b\d{1,3}(\.\d{1,3}){3}(/\d+)?\b|\b[0-9a-f]{0,4}(:[0-9a-f]{0,4}){2,7}(/\d+)?")
        cand = [i for i, l in enumerate(L) if pat.search(strip_comment(l))]
        if not cand:
            return None
        i = self.rng.choice(cand)
        new = self.rng.choice(ADDR_SWAPS)
        L[i] = pat.sub(new, L[i], count=1)
        return L, "addr %s=%s" % (tokens_of(L[i])[0], new)

    def dev(self, L):
        cand = [i for i, l in enumerate(L) if re.search(r"\beth\d\b", strip_comment(l))]
        if not cand:
            return None
        i = self.rng.choice(cand)
        new = self.rng.choice(IF_NAMES)
        L[i] = re.sub(r"\beth\d\b", new, L[i], count=1)
        return L, "dev %s=%s" % (tokens_of(L[i])[0] if tokens_of(L[i]) else "?", new or "empty")

    def quote(self, L):
        cand = [i for i in self.code_lines(L) if len(tokens_of(L[i])) >= 2]
        if not cand:
            return None
        i = self.rng.choice(cand)
        toks = tokens_of(L[i])
        k = self.rng.randrange(1, len(toks))
        how = self.rng.choice(["q", "open", "close", "single"])
        t = toks[k].strip('"')
        toks[k] = {"q": '"%s"' % t, "open": '"' + t, "close": t + '"', "single": "'%s'" % t}[how]
        ind, _ = split_line(L[i])
        L[i] = ind + " ".join(toks)
        return L, "quote_%s %s" % (how, toks[0])

    def case(self, L):
        i = self.pick(L)
        if i is None:
            return None
        t = tokens_of(L[i])[0]
        L[i] = L[i].replace(t, t.upper() if self.rng.random() < 0.5 else t.capitalize(), 1)
        return L, "case %s" % t

    def insert_kw(self, L):
        ctxs = contexts(L)
        # insert a keyword of the block we land in, with a random plausible value
        j = self.rng.randrange(len(L) + 1)
        ctx = norm_ctx(ctxs[j][0]) if j < len(L) else ""
        if not self.kw.get(ctx):
            return None
        kw = self.rng.choice(self.kw[ctx])
        nval = self.rng.choice([0, 1, 1, 1, 2])
        vals = [self.rng.choice(GARBAGE) for _ in range(nval)]
        L.insert(j, "    " + " ".join([kw] + vals))
        return L, "insert %s(%d) in %s" % (kw, nval, ctx)

    def snippet(self, L):
        ctxs = contexts(L)
        j = self.rng.randrange(len(L) + 1)
        ctx = norm_ctx(ctxs[j][0]) if j < len(L) else ""
        if ctx not in SNIPPETS:
            return None
        sn = self.rng.choice(SNIPPETS[ctx])
        L[j:j] = ["    " + x for x in sn.split("\n")]
        return L, "snippet %s in %s" % (sn.split()[0], ctx)

    def track_group_line(self, L):
        ctxs = contexts(L)
        cand = [i for i, (c, f) in enumerate(ctxs)
                if f and c.split("/")[0] in ("static_ipaddress", "static_routes", "static_rules")]
        if not cand:
            return None
        i = self.rng.choice(cand)
        L[i] = L[i].rstrip() + " " + self.rng.choice(["track_group TG1", "track_group", "track_group NOPE"])
        return L, "track_group_line %s" % ctxs[i][0]

    def semicolon(self, L):
        i = self.pick(L)
        if i is None:
            return None
        L[i] = L[i].rstrip() + ";"
        return L, "semicolon %s" % tokens_of(L[i])[0]

    def no_value(self, L):
        cand = [i for i in self.code_lines(L) if len(tokens_of(L[i])) >= 2 and "{" not in L[i]]
        if not cand:
            return None
        i = self.rng.choice(cand)
        toks = tokens_of(L[i])
        ind, _ = split_line(L[i])
        L[i] = ind + toks[0]
        return L, "no_value %s" % toks[0]

    def one_line_block(self, L):
        # join a block's opening line with its next line
        cand = [i for i, l in enumerate(L[:-1]) if strip_comment(l).rstrip().endswith("{")]
        if not cand:
            return None
        i = self.rng.choice(cand)
        L[i:i + 2] = [strip_comment(L[i]).rstrip() + " " + strip_comment(L[i + 1]).strip()]
        return L, "join %s" % tokens_of(L[i])[0]

    def typo(self, L):
        i = self.pick(L)
        if i is None:
            return None
        t = tokens_of(L[i])[0]
        if len(t) < 3:
            return None
        k = self.rng.randrange(len(t))
        how = self.rng.choice(["del", "dup", "dash"])
        nt = {"del": t[:k] + t[k + 1:], "dup": t[:k] + t[k] + t[k:],
              "dash": t.replace("_", "-")}[how]
        L[i] = L[i].replace(t, nt, 1)
        return L, "typo %s" % t


def deliberate_names():
    """Configs listed in DELIBERATE_DIFFERENCES (their variants would differ for that reason)."""
    try:
        with open(os.path.join(ROOT, "tests/config_keepalived_compare.rs")) as f:
            text = f.read()
    except OSError:
        return set()
    block = text.split("DELIBERATE_DIFFERENCES", 1)[-1].split("];", 1)[0]
    return set(re.findall(r'\(\s*"([^"]+)"', block))


def load_corpus(lvs=False):
    skip = deliberate_names()
    files = sorted(glob.glob(os.path.join(ROOT, "tests/configs/*.conf")))
    files += sorted(glob.glob(os.path.join(ROOT, "config/seed/*.conf")))
    corpus = {}
    for f in files:
        try:
            with open(f, encoding="utf-8", errors="surrogateescape") as fh:
                text = fh.read()
        except OSError:
            continue
        name = os.path.basename(f)[:-5]
        if "include" in text:  # relative includes would break once copied elsewhere
            continue
        if name in skip or (not lvs and ("lvs" in name or "virtual_server" in text)):
            continue  # LVS blocks are skipped by design: their internals are not compared
        corpus[name] = text.split("\n")
    return corpus


def run_batch(items, tmp):
    """items: list of (name, path). Returns {name: (ka_rc, rk_rc)}."""
    script = PRELUDE + "".join("both %s '%s'\n" % (n, p) for n, p in items)
    env = dict(os.environ, SEED_SCRIPT=os.path.join(ROOT, "config/seed/checkng.sh"), T=tmp,
               KA=KEEPALIVED, OURS=OURS)
    out = subprocess.run(["unshare", "-mn", "sh", "-c", script], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    res = {}
    for line in out.stdout.splitlines():
        w = line.split()
        if len(w) == 4 and w[0] == "RES":
            res[w[1]] = (int(w[2]), int(w[3]))
    if not res:
        sys.stderr.write(out.stderr)
    return res


def ka_crashed(rc):
    return rc >= 124  # timeout(1) = 124, signals = 128+N


def signature(desc, ka, rk, ka_out):
    kind = re.sub(r"=.*| in .*| from .*", "", desc)
    msgs = []
    for l in ka_out.splitlines():
        l = re.sub(r"^.*?\(Line \d+\) |^.*?: Line \d+\) ", "", l)
        l = re.sub(r"'[^']*'", "'_'", l)
        l = re.sub(r"\d+", "N", l)
        if l not in msgs:
            msgs.append(l)
    return "%s | ka %d rk %d | %s" % (kind, ka, rk, "; ".join(msgs[:2])[:160])


def read(p):
    try:
        with open(p, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", type=int, default=2000, help="number of variants")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--batch", type=int, default=250)
    ap.add_argument("--max-mutations", type=int, default=2)
    ap.add_argument("--out", default=os.path.join(ROOT, "target", "tdiff"))
    ap.add_argument("--files", nargs="*", help="compare these files instead of generating")
    ap.add_argument("--replay", help="re-run the mismatches saved in this OUT dir")
    ap.add_argument("--lvs", action="store_true", help="also mutate configs with LVS blocks")
    args = ap.parse_args()
    for b in (KEEPALIVED, OURS):
        if not os.path.exists(b):
            sys.exit("missing %s (cargo build / apt-get install keepalived)" % b)

    rng = random.Random(args.seed)
    work = tempfile.mkdtemp(prefix="tdiff-")
    variants = []  # (name, path, source, desc)
    if args.files or args.replay:
        files = args.files or sorted(glob.glob(os.path.join(args.replay, "m", "*.conf")))
        for k, f in enumerate(files):
            variants.append(("f%d" % k, os.path.abspath(f), f, "file"))
    else:
        corpus = load_corpus(args.lvs)
        mut = Mutator(rng, harvest(corpus, args.lvs))
        names = sorted(corpus)
        seeds = [n for n in names if n in ("node1", "node2") or n.startswith("wild_shape_")]
        k = 0
        while len(variants) < args.n:
            # the seed configs are what users start from: weight them up
            src = rng.choice(seeds) if seeds and rng.random() < 0.4 else rng.choice(names)
            lines, descs = corpus[src], []
            for _ in range(rng.randint(1, args.max_mutations)):
                r = mut.mutate(lines)
                if r is None:
                    continue
                lines, d = r
                descs.append(d)
            if not descs:
                continue
            name = "v%d" % k
            k += 1
            p = os.path.join(work, name + ".conf")
            with open(p, "w", encoding="utf-8", errors="surrogateescape") as f:
                f.write("\n".join(lines))
            variants.append((name, p, src, "; ".join(descs)))

    os.makedirs(os.path.join(args.out, "m"), exist_ok=True)
    if not args.replay:
        for f in glob.glob(os.path.join(args.out, "m", "*")):
            os.remove(f)
    results = {}
    for b in range(0, len(variants), args.batch):
        chunk = variants[b:b + args.batch]
        results.update(run_batch([(n, p) for n, p, _, _ in chunk], work))
        sys.stderr.write("\r%d/%d" % (min(b + args.batch, len(variants)), len(variants)))
    sys.stderr.write("\n")

    groups = collections.defaultdict(list)
    ran = crashed = 0
    recs = []
    for name, path, src, desc in variants:
        if name not in results:
            continue
        ran += 1
        ka, rk = results[name]
        if ka_crashed(ka):
            crashed += 1
            continue
        if ka == rk:
            continue
        ka_out = read(os.path.join(work, name + ".ka"))
        rk_out = read(os.path.join(work, name + ".rk"))
        sig = signature(desc, ka, rk, ka_out) if desc != "file" else "%s ka %d rk %d" % (src, ka, rk)
        rec = dict(id=name, source=src, mutation=desc, ka=ka, rk=rk, sig=sig)
        recs.append(rec)
        groups[sig].append(rec)
        if not args.replay:
            shutil.copy(path, os.path.join(args.out, "m", name + ".conf"))
            with open(os.path.join(args.out, "m", name + ".ka"), "w") as f:
                f.write(ka_out)
            with open(os.path.join(args.out, "m", name + ".rk"), "w") as f:
                f.write(rk_out)
    if not args.replay:
        with open(os.path.join(args.out, "mismatches.jsonl"), "w") as f:
            for r in recs:
                f.write(json.dumps(r) + "\n")
    shutil.rmtree(work, ignore_errors=True)

    for sig, rs in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        print("%4d  %s  e.g. %s (%s: %s)" % (len(rs), sig, rs[0]["id"], rs[0]["source"], rs[0]["mutation"]))
    compared = ran - crashed
    print("variants run: %d, keepalived crashed/timed out: %d, mismatches: %d (%.2f%% of %d)"
          % (ran, crashed, len(recs), 100.0 * len(recs) / max(compared, 1), compared))
    return 1 if recs else 0


if __name__ == "__main__":
    sys.exit(main())
