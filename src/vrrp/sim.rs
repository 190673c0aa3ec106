//! Test support: a simulated LAN of N [`Node`]s on one virtual clock.
//!
//! Not used by the daemon. Segments are shared media: a multicast advert reaches every other
//! node with an interface on the same segment, a unicast advert reaches the node that owns
//! the destination address (if it is on the same segment). Each delivery can be lost (a
//! seeded PRNG), delayed, or blocked by a partition between two nodes. The TTL is delivered
//! as sent.
//!
//! The pattern is quinn-proto's test pair: `step()` advances to the next event (a packet
//! arrival or a node's `poll_timeout()`), `drive_for()`/`drive_until()` run many steps,
//! `drive_bounded()` refuses to run forever. After every input a node's actions are drained
//! at once (the daemon's drain rule), AddVip/DelVip update the node's address set, and every
//! action is recorded in a trace with its virtual time.
//!
//! By default adverts travel as parsed [`Advert`] values through [`Node::handle_advert`];
//! set [`Lan::use_wire`] to send them as bytes (`wire::emit` → `Input::Packet` →
//! `wire::parse`) once the wire code is complete.

use std::collections::BTreeSet;
use std::net::IpAddr;

use super::action::{Action, AhSeal, NotifyKind, NotifyState};
use super::input::{Input, LinkState, RxPacket};
use super::node::Node;
use super::spec::{Family, NodeSpec};
use super::types::State;
use super::wire::{self, Advert, ChecksumCtx};
use crate::time::{Duration, Instant};

/// A tiny deterministic PRNG (xorshift64*), so tests need no dependency.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
    /// True with probability `ppm` parts per million.
    pub fn chance_ppm(&mut self, ppm: u32) -> bool {
        self.below(1_000_000) < u64::from(ppm)
    }
}

/// One interface of a simulated node and the segment it is plugged into.
#[derive(Clone, Debug)]
pub struct SimIf {
    pub link: LinkState,
    pub segment: u32,
}

#[derive(Debug)]
pub struct SimNode {
    pub name: String,
    pub node: Node,
    pub ifs: Vec<SimIf>,
    /// Addresses the node's actions put on its interfaces: (ifname, addr).
    pub vips: BTreeSet<(String, IpAddr)>,
    /// False after `crash()`: the node neither receives nor wakes up.
    pub alive: bool,
}

impl SimNode {
    fn owns(&self, addr: IpAddr) -> Option<&SimIf> {
        self.ifs.iter().find(|i| {
            i.link.ipv4.iter().any(|a| IpAddr::V4(*a) == addr)
                || i.link.ipv6_ll.map(IpAddr::V6) == Some(addr)
        })
    }
}

/// One recorded action.
#[derive(Clone, Debug)]
pub struct TraceEvent {
    pub at: Instant,
    pub node: usize,
    pub action: Action,
}

#[derive(Clone, Debug)]
struct InFlight {
    at: Instant,
    seq: u64,
    to: usize,
    ifname: String,
    family: Family,
    src: IpAddr,
    dst: IpAddr,
    ttl: u8,
    advert: Advert,
    checksum: ChecksumCtx,
    ah: Option<AhSeal>,
}

/// The simulated LAN.
#[derive(Debug)]
pub struct Lan {
    pub now: Instant,
    pub nodes: Vec<SimNode>,
    pub trace: Vec<TraceEvent>,
    /// Loss probability per delivery, parts per million.
    pub loss_ppm: u32,
    /// One-way delay of every delivery.
    pub delay: Duration,
    /// Send adverts as bytes through `wire::emit`/`wire::parse`.
    pub use_wire: bool,
    pub rng: Rng,
    blocked: BTreeSet<(usize, usize)>,
    in_flight: Vec<InFlight>,
    seq: u64,
}

impl Lan {
    pub fn new(seed: u64) -> Self {
        Lan {
            now: Instant(1_000_000),
            nodes: Vec::new(),
            trace: Vec::new(),
            loss_ppm: 0,
            delay: Duration::from_micros(100),
            use_wire: false,
            rng: Rng::new(seed),
            blocked: BTreeSet::new(),
            in_flight: Vec::new(),
            seq: 0,
        }
    }

    /// Add a node with its interfaces; it gets `Input::Link` for each at once.
    pub fn add_node(&mut self, name: &str, spec: NodeSpec, ifs: Vec<SimIf>) -> usize {
        let node = Node::new(spec, self.now);
        self.nodes.push(SimNode {
            name: name.to_string(),
            node,
            ifs: ifs.clone(),
            vips: BTreeSet::new(),
            alive: true,
        });
        let i = self.nodes.len() - 1;
        self.drain(i);
        for f in ifs {
            self.input(i, Input::Link(f.link));
        }
        i
    }

    /// Give node `i` an input now and drain its actions.
    pub fn input(&mut self, i: usize, input: Input) {
        if !self.nodes[i].alive {
            return;
        }
        let now = self.now;
        self.nodes[i].node.handle(now, input);
        self.drain(i);
    }

    /// Change a link of node `i` (up/down) and tell the node.
    pub fn set_link_up(&mut self, i: usize, ifname: &str, up: bool) {
        let Some(f) = self.nodes[i]
            .ifs
            .iter_mut()
            .find(|f| f.link.ifname == ifname)
        else {
            return;
        };
        f.link.up = up;
        let l = f.link.clone();
        self.input(i, Input::Link(l));
    }

    /// The node dies silently (no priority 0, no cleanup).
    pub fn crash(&mut self, i: usize) {
        self.nodes[i].alive = false;
        self.in_flight.retain(|p| p.to != i);
    }

    /// Restart node `i` with `spec` (a fresh `Node`, as after a crash and a new start).
    pub fn restart(&mut self, i: usize, spec: NodeSpec) {
        self.nodes[i].node = Node::new(spec, self.now);
        self.nodes[i].alive = true;
        self.nodes[i].vips.clear();
        self.drain(i);
        for f in self.nodes[i].ifs.clone() {
            self.input(i, Input::Link(f.link));
        }
    }

    /// Block (or unblock) traffic between nodes `a` and `b`, both directions.
    pub fn partition(&mut self, a: usize, b: usize, blocked: bool) {
        let k = (a.min(b), a.max(b));
        if blocked {
            self.blocked.insert(k);
        } else {
            self.blocked.remove(&k);
        }
    }

    pub fn heal_all(&mut self) {
        self.blocked.clear();
    }

    fn drain(&mut self, i: usize) {
        let mut links: Vec<LinkState> = Vec::new();
        while let Some(a) = self.nodes[i].node.poll_action() {
            match &a {
                Action::SendAdvert {
                    ifname,
                    src,
                    dst,
                    ttl,
                    advert,
                    checksum,
                    ah,
                    ..
                } => self.transmit(i, ifname, *src, *dst, *ttl, advert, *checksum, *ah),
                Action::AddVip { ifname, vip, .. } => {
                    self.nodes[i].vips.insert((ifname.clone(), vip.addr));
                }
                Action::DelVip { ifname, vip, .. } => {
                    self.nodes[i].vips.remove(&(ifname.clone(), vip.addr));
                }
                // A VMAC: a new interface on the parent's segment, reported back to the node.
                Action::CreateVmac {
                    name, parent, mac, ..
                } => {
                    let ifs = &mut self.nodes[i].ifs;
                    if let Some(p) = ifs.iter().find(|f| f.link.ifname == *parent).cloned()
                        && !ifs.iter().any(|f| f.link.ifname == *name)
                    {
                        let link = LinkState {
                            ifname: name.clone(),
                            mac: *mac,
                            ..p.link.clone()
                        };
                        ifs.push(SimIf {
                            link: link.clone(),
                            segment: p.segment,
                        });
                        links.push(link);
                    }
                }
                Action::DeleteVmac { name, .. } => {
                    let ifs = &mut self.nodes[i].ifs;
                    ifs.retain(|f| f.link.ifname != *name);
                    self.nodes[i].vips.retain(|(n, _)| n != name);
                }
                Action::SendGarp { .. }
                | Action::Notify(_)
                | Action::AddRoute { .. }
                | Action::DelRoute { .. }
                | Action::AddRule { .. }
                | Action::DelRule { .. }
                | Action::BlockVip { .. }
                | Action::UnblockVip { .. } => {}
            }
            self.trace.push(TraceEvent {
                at: self.now,
                node: i,
                action: a,
            });
        }
        for l in links {
            self.input(i, Input::Link(l));
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn transmit(
        &mut self,
        from: usize,
        ifname: &str,
        src: IpAddr,
        dst: IpAddr,
        ttl: u8,
        advert: &Advert,
        checksum: ChecksumCtx,
        ah: Option<AhSeal>,
    ) {
        let Some(seg) = self.nodes[from]
            .ifs
            .iter()
            .find(|f| f.link.ifname == ifname && f.link.up && f.link.exists)
            .map(|f| f.segment)
        else {
            return;
        };
        let family = if src.is_ipv4() {
            Family::V4
        } else {
            Family::V6
        };
        let mut targets = Vec::new();
        for (j, n) in self.nodes.iter().enumerate() {
            if j == from || !n.alive {
                continue;
            }
            // Multicast reaches every interface of the node on the segment (a VMAC shares
            // its parent's segment; the node ignores the copy on the interface it does not
            // listen on).
            let rx_ifs: Vec<&SimIf> = if dst.is_multicast() {
                n.ifs.iter().filter(|f| f.segment == seg).collect()
            } else {
                n.owns(dst)
                    .filter(|f| f.segment == seg)
                    .into_iter()
                    .collect()
            };
            for f in rx_ifs {
                if f.link.up && f.link.exists {
                    targets.push((j, f.link.ifname.clone()));
                }
            }
        }
        for (j, rx_ifname) in targets {
            if self.blocked.contains(&(from.min(j), from.max(j))) {
                continue;
            }
            if self.loss_ppm > 0 && self.rng.chance_ppm(self.loss_ppm) {
                continue;
            }
            self.seq += 1;
            self.in_flight.push(InFlight {
                at: self.now + self.delay,
                seq: self.seq,
                to: j,
                ifname: rx_ifname,
                family,
                src,
                dst,
                ttl,
                advert: advert.clone(),
                checksum,
                ah,
            });
        }
    }

    /// When the next event happens, if any.
    pub fn next_event(&self) -> Option<Instant> {
        let p = self.in_flight.iter().map(|p| p.at).min();
        let t = self
            .nodes
            .iter()
            .filter(|n| n.alive)
            .filter_map(|n| n.node.poll_timeout())
            .min();
        match (p, t) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Advance to the next event and process everything due then. False if nothing is
    /// scheduled at all.
    pub fn step(&mut self) -> bool {
        let Some(t) = self.next_event() else {
            return false;
        };
        if t > self.now {
            self.now = t;
        }
        // Packets first (in send order), then timers.
        loop {
            let due = self
                .in_flight
                .iter()
                .enumerate()
                .filter(|(_, p)| p.at <= self.now)
                .min_by_key(|(_, p)| (p.at, p.seq))
                .map(|(n, _)| n);
            let Some(k) = due else { break };
            let p = self.in_flight.remove(k);
            self.deliver(p);
        }
        for i in 0..self.nodes.len() {
            if !self.nodes[i].alive {
                continue;
            }
            if self.nodes[i]
                .node
                .poll_timeout()
                .is_some_and(|t| t <= self.now)
            {
                self.input(i, Input::Timeout);
            }
        }
        true
    }

    fn deliver(&mut self, p: InFlight) {
        let i = p.to;
        if !self.nodes[i].alive {
            return;
        }
        let now = self.now;
        if self.use_wire {
            let mut payload = wire::emit(&p.advert, &p.checksum);
            let mut ipsec_ah = false;
            if let (Some(seal), IpAddr::V4(s), IpAddr::V4(d)) = (p.ah, p.src, p.dst) {
                payload = super::ah::emit_ipv4(s, d, p.ttl, seal.seq, &seal.key, &payload);
                ipsec_ah = true;
            }
            self.nodes[i].node.handle(
                now,
                Input::Packet(RxPacket {
                    ifname: p.ifname,
                    family: p.family,
                    src: p.src,
                    dst: p.dst,
                    ttl: p.ttl,
                    payload,
                    ipsec_ah,
                }),
            );
        } else {
            self.nodes[i]
                .node
                .handle_advert(now, &p.ifname, p.family, p.src, p.dst, p.ttl, &p.advert);
        }
        self.drain(i);
    }

    /// Run every event up to and including `until`, then set the clock to `until`.
    pub fn drive_until(&mut self, until: Instant) {
        while self.next_event().is_some_and(|t| t <= until) {
            self.step();
        }
        if until > self.now {
            self.now = until;
        }
    }

    pub fn drive_for(&mut self, d: Duration) {
        let until = self.now + d;
        self.drive_until(until);
    }

    /// Step until `pred` holds, at most `max_steps` steps; returns whether it held.
    pub fn drive_bounded(&mut self, max_steps: usize, mut pred: impl FnMut(&Lan) -> bool) -> bool {
        for _ in 0..max_steps {
            if pred(self) {
                return true;
            }
            if !self.step() {
                return pred(self);
            }
        }
        pred(self)
    }

    // ------------------------------------------------------------ queries

    pub fn state(&self, i: usize, instance: &str) -> State {
        self.nodes[i]
            .node
            .instance(instance)
            .map_or(State::Init, |x| x.state)
    }

    pub fn has_vip(&self, i: usize, addr: IpAddr) -> bool {
        self.nodes[i].vips.iter().any(|(_, a)| *a == addr)
    }

    /// Nodes (alive) whose instance with `vrid` is MASTER.
    pub fn masters(&self, vrid: u8) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|&i| self.nodes[i].alive)
            .filter(|&i| {
                self.nodes[i]
                    .node
                    .instances()
                    .iter()
                    .any(|x| x.spec.vrid == vrid && x.state == State::Master)
            })
            .collect()
    }

    /// Times at which node `i` announced `state` for instance `name`.
    pub fn notify_times(&self, i: usize, name: &str, state: NotifyState) -> Vec<Instant> {
        self.trace
            .iter()
            .filter(|e| e.node == i)
            .filter_map(|e| match &e.action {
                Action::Notify(n)
                    if n.kind == NotifyKind::Instance && n.name == name && n.state == state =>
                {
                    Some(e.at)
                }
                _ => None,
            })
            .collect()
    }

    /// Adverts sent by node `i` (time, priority).
    pub fn adverts_sent(&self, i: usize) -> Vec<(Instant, u8)> {
        self.trace
            .iter()
            .filter(|e| e.node == i)
            .filter_map(|e| match &e.action {
                Action::SendAdvert { advert, .. } => Some((e.at, advert.priority)),
                _ => None,
            })
            .collect()
    }

    /// Trace entries of node `i` from time `from` on.
    pub fn actions_since(&self, i: usize, from: Instant) -> Vec<&Action> {
        self.trace
            .iter()
            .filter(|e| e.node == i && e.at >= from)
            .map(|e| &e.action)
            .collect()
    }
}
