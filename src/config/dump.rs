//! `-d`: a readable dump of the resolved configuration (what the daemon will run), in
//! keepalived's vocabulary. Passwords are masked.

use std::fmt::Write;

use crate::vrrp::spec::*;

fn cmd(c: &Option<ScriptCmd>) -> Option<String> {
    c.as_ref().map(script)
}

fn script(c: &ScriptCmd) -> String {
    format!(
        "{}  (uid {} gid {}{})",
        c.argv.join(" "),
        c.uid,
        c.gid,
        if c.via_shell { ", via /bin/sh" } else { "" }
    )
}

fn tracks(out: &mut String, what: &str, list: &[TrackRef]) {
    for t in list {
        let _ = writeln!(
            out,
            "    {what} {} weight {}{}",
            t.name,
            t.weight,
            if t.reverse { " reverse" } else { "" }
        );
    }
}

fn notify(out: &mut String, n: &NotifySpec) {
    for (k, v) in [
        ("notify_master", cmd(&n.master)),
        ("notify_backup", cmd(&n.backup)),
        ("notify_fault", cmd(&n.fault)),
        ("notify_stop", cmd(&n.stop)),
        ("notify_deleted", cmd(&n.deleted)),
        ("notify", cmd(&n.generic)),
        ("notify_master_rx_lower_pri", cmd(&n.master_rx_lower_pri)),
    ] {
        if let Some(v) = v {
            let _ = writeln!(out, "    {k} {v}");
        }
    }
    if n.priority_changes {
        let _ = writeln!(out, "    notify_priority_changes");
    }
}

fn vip(v: &VipSpec) -> String {
    let mut s = format!("{}/{}", v.addr, v.prefix_len);
    if let Some(d) = &v.dev {
        let _ = write!(s, " dev {d}");
    }
    if let Some(b) = v.broadcast {
        let _ = write!(s, " brd {b}");
    }
    if v.scope != 0 {
        let _ = write!(s, " scope {}", v.scope);
    }
    if let Some(l) = &v.label {
        let _ = write!(s, " label {l}");
    }
    if let Some((p, len)) = v.peer {
        let _ = write!(s, " peer {p}/{len}");
    }
    for (on, word) in [
        (v.no_track, "no_track"),
        (v.noprefixroute, "noprefixroute"),
        (v.nodad, "-nodad"),
        (v.home, "home"),
        (v.mngtmpaddr, "mngtmpaddr"),
        (v.autojoin, "autojoin"),
    ] {
        if on {
            s.push(' ');
            s.push_str(word);
        }
    }
    if let Some(l) = v.preferred_lft {
        let _ = write!(s, " preferred_lft {l}");
    }
    s
}

fn secs(d: crate::time::Duration) -> String {
    let us = d.as_micros();
    if us % 1_000_000 == 0 {
        format!("{}s", us / 1_000_000)
    } else {
        format!("{}.{:06}s", us / 1_000_000, us % 1_000_000)
    }
}

/// The whole resolved configuration as text.
pub fn dump(spec: &NodeSpec) -> String {
    let mut o = String::new();
    let g = &spec.globals;
    let _ = writeln!(o, "global_defs");
    if let Some(r) = &g.router_id {
        let _ = writeln!(o, "    router_id {r}");
    }
    if let Some(f) = &g.notify_fifo {
        let _ = writeln!(o, "    vrrp_notify_fifo {f}");
    }
    if let Some(c) = &g.notify_fifo_script {
        let _ = writeln!(o, "    vrrp_notify_fifo_script {}", script(c));
    }
    let _ = writeln!(o, "    vrrp_startup_delay {}", secs(g.startup_delay));
    let _ = writeln!(o, "    vrrp_garp_interval {}", secs(g.garp_interval));
    let _ = writeln!(o, "    vrrp_gna_interval {}", secs(g.gna_interval));
    let _ = writeln!(o, "    json_version {}", g.json_version);
    for s in &spec.scripts {
        let _ = writeln!(o, "vrrp_script {}", s.name);
        let _ = writeln!(o, "    script {}", script(&s.cmd));
        let _ = writeln!(
            o,
            "    interval {} timeout {} rise {} fall {} weight {}{}{}",
            secs(s.interval),
            secs(s.timeout),
            s.rise,
            s.fall,
            s.weight,
            if s.reverse { " reverse" } else { "" },
            if s.init_fail { " init_fail" } else { "" }
        );
    }
    for f in &spec.track_files {
        let _ = writeln!(
            o,
            "track_file {} file {} weight {}",
            f.name, f.path, f.weight
        );
    }
    for p in &spec.track_processes {
        let _ = writeln!(
            o,
            "vrrp_track_process {} process {} weight {} quorum {}",
            p.name, p.process, p.weight, p.quorum
        );
    }
    for sg in &spec.sync_groups {
        let _ = writeln!(o, "vrrp_sync_group {}", sg.name);
        let _ = writeln!(o, "    group {}", sg.members.join(" "));
        tracks(&mut o, "track_interface", &sg.track_interfaces);
        tracks(&mut o, "track_script", &sg.track_scripts);
        notify(&mut o, &sg.notify);
    }
    for i in &spec.instances {
        let _ = writeln!(o, "vrrp_instance {}", i.name);
        let _ = writeln!(
            o,
            "    interface {}  virtual_router_id {}  {:?} {:?}",
            i.interface, i.vrid, i.version, i.family
        );
        let _ = writeln!(
            o,
            "    state {}  priority {}  advert_int {}.{:02}s{}{}",
            if i.initial_master { "MASTER" } else { "BACKUP" },
            i.priority,
            i.advert_int.0 / 100,
            i.advert_int.0 % 100,
            if i.nopreempt { "  nopreempt" } else { "" },
            if i.preempt_delay != crate::time::Duration::ZERO {
                format!("  preempt_delay {}", secs(i.preempt_delay))
            } else {
                String::new()
            }
        );
        let auth = match i.auth {
            Auth::None => "none",
            Auth::Pass(_) => "PASS ********",
            Auth::Ah(_) => "AH",
        };
        let _ = writeln!(o, "    authentication {auth}");
        for v in &i.vips {
            let _ = writeln!(o, "    virtual_ipaddress {}", vip(v));
        }
        for v in &i.excluded_vips {
            let _ = writeln!(o, "    virtual_ipaddress_excluded {}", vip(v));
        }
        for r in &i.virtual_routes {
            let _ = writeln!(o, "    virtual_route {r}");
        }
        for r in &i.virtual_rules {
            let _ = writeln!(o, "    virtual_rule {r}");
        }
        if let Some(s) = i.unicast_src {
            let _ = writeln!(o, "    unicast_src_ip {s}");
        }
        if let Some(s) = i.mcast_src {
            let _ = writeln!(o, "    mcast_src_ip {s}");
        }
        if i.is_unicast() {
            for p in &i.unicast_peers {
                let _ = writeln!(o, "    unicast_peer {}", p.addr);
            }
            let _ = writeln!(o, "    unicast_ttl {}", i.unicast_ttl);
        } else {
            let _ = writeln!(o, "    mcast_dst_ip {}", i.mcast_dst);
        }
        let _ = writeln!(
            o,
            "    garp_master_delay {} repeat {}  lower_prio_delay {} repeat {}  refresh {} repeat {}",
            secs(i.garp.master_delay),
            i.garp.master_repeat,
            secs(i.garp.lower_prio_delay),
            i.garp.lower_prio_repeat,
            secs(i.garp.master_refresh),
            i.garp.master_refresh_repeat
        );
        let _ = writeln!(
            o,
            "    down_timer_adverts {}  accept {}  check_unicast_src {}",
            i.down_timer_adverts, i.accept, i.check_unicast_src
        );
        tracks(&mut o, "track_interface", &i.track_interfaces);
        tracks(&mut o, "track_script", &i.track_scripts);
        tracks(&mut o, "track_file", &i.track_files);
        tracks(&mut o, "track_process", &i.track_processes);
        notify(&mut o, &i.notify);
        if let Some(g) = &i.sync_group {
            let _ = writeln!(o, "    sync_group {g}");
        }
    }
    o
}
