//! nftables on a plain netfilter netlink socket: keepalived's `keepalived` tables, which drop
//! traffic to and from the VIPs of instances that run without accept mode (`vrrp_strict`,
//! `no_accept`). RFC 5798 §6.4.3: a master that does not own the addresses and is not in Accept
//! Mode must not accept packets addressed to them.
//!
//! The tables, sets, chains and rules are the ones keepalived 2.2.7 installs (`nft list
//! ruleset` shows the same text for both daemons; a namespace test compares them):
//!
//! ```text
//! table ip keepalived {                 table ip6 keepalived {
//!   set vips { type ipv4_addr }           set vips { type ipv6_addr }
//!   chain out { output hook, prio -1      set neighbor-discovery { icmpv6_type, constant }
//!     ip saddr @vips drop }               set vips_link_local { ipv6_addr . iface_index }
//!   chain in { input hook, prio -1        chain out { icmpv6 type @neighbor-discovery accept
//!     ip daddr @vips drop }                 ip6 saddr fe80::/10 goto out_link_local
//! }                                         ip6 saddr @vips drop }
//!                                         chain in { (the same with daddr / in_link_local) }
//!                                         chain in_link_local { ip6 daddr . iif @vips_link_local drop }
//!                                         chain out_link_local { ip6 saddr . oif @vips_link_local drop }
//!                                       }
//! ```
//!
//! A table is created when its family's first address is blocked and deleted at exit. Each
//! change is one netfilter batch; the kernel runs a batch inside `sendmsg`, so its
//! acknowledgements are already queued when the call returns and are read without waiting.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv6Addr};
use std::os::fd::{AsRawFd, OwnedFd};

use nix::errno::Errno;
use nix::sys::socket::{
    self, AddressFamily, MsgFlags, NetlinkAddr, SockFlag, SockProtocol, SockType,
};

use super::SysError;
use super::error::Ctx;

use crate::vrrp::spec::NftablesSpec;

// linux/netfilter/nfnetlink.h and nf_tables.h (not in libc).
const NFNL_SUBSYS_NFTABLES: u16 = 10;
const NFNL_MSG_BATCH_BEGIN: u16 = 0x10;
const NFNL_MSG_BATCH_END: u16 = 0x11;
const NFT_MSG_NEWTABLE: u16 = 0;
const NFT_MSG_DELTABLE: u16 = 2;
const NFT_MSG_NEWCHAIN: u16 = 3;
const NFT_MSG_NEWRULE: u16 = 6;
const NFT_MSG_NEWSET: u16 = 9;
const NFT_MSG_NEWSETELEM: u16 = 12;
const NFT_MSG_DELSETELEM: u16 = 14;
const NFPROTO_IPV4: u8 = 2;
const NFPROTO_IPV6: u8 = 10;

const NFTA_TABLE_NAME: u16 = 1;
const NFTA_CHAIN_TABLE: u16 = 1;
const NFTA_CHAIN_NAME: u16 = 3;
const NFTA_CHAIN_HOOK: u16 = 4;
const NFTA_CHAIN_POLICY: u16 = 5;
const NFTA_CHAIN_TYPE: u16 = 7;
const NFTA_HOOK_HOOKNUM: u16 = 1;
const NFTA_HOOK_PRIORITY: u16 = 2;
const NFTA_RULE_TABLE: u16 = 1;
const NFTA_RULE_CHAIN: u16 = 2;
const NFTA_RULE_EXPRESSIONS: u16 = 4;
const NFTA_LIST_ELEM: u16 = 1;
const NFTA_EXPR_NAME: u16 = 1;
const NFTA_EXPR_DATA: u16 = 2;
const NFTA_IMMEDIATE_DREG: u16 = 1;
const NFTA_IMMEDIATE_DATA: u16 = 2;
const NFTA_DATA_VALUE: u16 = 1;
const NFTA_DATA_VERDICT: u16 = 2;
const NFTA_VERDICT_CODE: u16 = 1;
const NFTA_VERDICT_CHAIN: u16 = 2;
const NFTA_PAYLOAD_DREG: u16 = 1;
const NFTA_PAYLOAD_BASE: u16 = 2;
const NFTA_PAYLOAD_OFFSET: u16 = 3;
const NFTA_PAYLOAD_LEN: u16 = 4;
const NFTA_CMP_SREG: u16 = 1;
const NFTA_CMP_OP: u16 = 2;
const NFTA_CMP_DATA: u16 = 3;
const NFTA_BITWISE_SREG: u16 = 1;
const NFTA_BITWISE_DREG: u16 = 2;
const NFTA_BITWISE_LEN: u16 = 3;
const NFTA_BITWISE_MASK: u16 = 4;
const NFTA_BITWISE_XOR: u16 = 5;
const NFTA_LOOKUP_SET: u16 = 1;
const NFTA_LOOKUP_SREG: u16 = 2;
const NFTA_META_DREG: u16 = 1;
const NFTA_META_KEY: u16 = 2;
const NFTA_SET_TABLE: u16 = 1;
const NFTA_SET_NAME: u16 = 2;
const NFTA_SET_FLAGS: u16 = 3;
const NFTA_SET_KEY_TYPE: u16 = 4;
const NFTA_SET_KEY_LEN: u16 = 5;
const NFTA_SET_DESC: u16 = 9;
const NFTA_SET_ID: u16 = 10;
const NFTA_SET_USERDATA: u16 = 13;
const NFTA_SET_DESC_SIZE: u16 = 1;
const NFTA_SET_ELEM_LIST_TABLE: u16 = 1;
const NFTA_SET_ELEM_LIST_SET: u16 = 2;
const NFTA_SET_ELEM_LIST_ELEMENTS: u16 = 3;
const NFTA_SET_ELEM_KEY: u16 = 1;
const NLA_F_NESTED: u16 = 0x8000;

const NF_DROP: u32 = 0;
const NF_ACCEPT: u32 = 1;
const NFT_GOTO: u32 = (-4i32) as u32;
const NF_INET_LOCAL_IN: u32 = 1;
const NF_INET_LOCAL_OUT: u32 = 3;
const NFT_REG_VERDICT: u32 = 0;
const NFT_REG_1: u32 = 1;
const NFT_REG_2: u32 = 2;
const NFT_PAYLOAD_NETWORK_HEADER: u32 = 1;
const NFT_PAYLOAD_TRANSPORT_HEADER: u32 = 2;
const NFT_CMP_EQ: u32 = 0;
const NFT_META_IIF: u32 = 4;
const NFT_META_OIF: u32 = 5;
const NFT_META_L4PROTO: u32 = 16;
const NFT_SET_CONSTANT: u32 = 0x2;
const NFT_SET_MAP: u32 = 0x8;
const NFTA_SET_DATA_TYPE: u16 = 6;
const NFTA_SET_DATA_LEN: u16 = 7;
const NFTA_SET_ELEM_DATA: u16 = 2;
const NFTA_LOOKUP_DREG: u16 = 3;
const NFTA_DUP_SREG_ADDR: u16 = 1;
const NFTA_DUP_SREG_DEV: u16 = 2;
const NFT_META_OIFKIND: u32 = 27;
const IGMP: u8 = 2;
const MLD2_LISTENER_REPORT: u8 = 143;
const ND_ROUTER_SOLICIT: u8 = 133;
// nftables' datatype numbers (what `nft list` shows as the set type).
const TYPE_IPADDR: u32 = 7;
const TYPE_IP6ADDR: u32 = 8;
const TYPE_IFINDEX: u32 = 20;
const TYPE_ICMP6_TYPE: u32 = 29;
const TYPE_BITS: u32 = 6;
/// `nft`'s set user data: key byte order big endian (NFTNL_UDATA_SET_KEYBYTEORDER = 0,
/// length 4, BYTEORDER_BIG_ENDIAN = 2), so `nft list` prints the elements as addresses.
const UDATA_KEY_BIG_ENDIAN: [u8; 6] = [0, 4, 2, 0, 0, 0];
/// Interface indexes are host order (BYTEORDER_HOST_ENDIAN = 1), key and, for a map, data
/// (NFTNL_UDATA_SET_DATABYTEORDER = 1).
const UDATA_KEY_HOST: [u8; 6] = [0, 4, 1, 0, 0, 0];
const UDATA_KEY_DATA_HOST: [u8; 12] = [0, 4, 1, 0, 0, 0, 1, 4, 1, 0, 0, 0];
const ND_NEIGHBOR_SOLICIT: u8 = 135;
const ND_NEIGHBOR_ADVERT: u8 = 136;

const fn align4(n: usize) -> usize {
    (n + 3) & !3
}

/// Netlink attributes, nested ones built bottom-up.
#[derive(Default)]
struct Attrs(Vec<u8>);

impl Attrs {
    fn raw(mut self, ty: u16, data: &[u8]) -> Self {
        let len = (4 + data.len()) as u16;
        self.0.extend_from_slice(&len.to_ne_bytes());
        self.0.extend_from_slice(&ty.to_ne_bytes());
        self.0.extend_from_slice(data);
        self.0.resize(align4(self.0.len()), 0);
        self
    }
    fn str(self, ty: u16, s: &str) -> Self {
        let mut b = s.as_bytes().to_vec();
        b.push(0);
        self.raw(ty, &b)
    }
    /// nf_tables numbers are big endian.
    fn be32(self, ty: u16, v: u32) -> Self {
        self.raw(ty, &v.to_be_bytes())
    }
    fn nest(self, ty: u16, inner: Attrs) -> Self {
        self.raw(ty | NLA_F_NESTED, &inner.0)
    }
}

/// One expression of a rule.
fn expr(name: &str, data: Attrs) -> Attrs {
    Attrs::default()
        .str(NFTA_EXPR_NAME, name)
        .nest(NFTA_EXPR_DATA, data)
}

fn payload(base: u32, offset: u32, len: u32, dreg: u32) -> Attrs {
    expr(
        "payload",
        Attrs::default()
            .be32(NFTA_PAYLOAD_DREG, dreg)
            .be32(NFTA_PAYLOAD_BASE, base)
            .be32(NFTA_PAYLOAD_OFFSET, offset)
            .be32(NFTA_PAYLOAD_LEN, len),
    )
}

fn meta(key: u32, dreg: u32) -> Attrs {
    expr(
        "meta",
        Attrs::default()
            .be32(NFTA_META_DREG, dreg)
            .be32(NFTA_META_KEY, key),
    )
}

fn cmp_eq(data: &[u8]) -> Attrs {
    expr(
        "cmp",
        Attrs::default()
            .be32(NFTA_CMP_SREG, NFT_REG_1)
            .be32(NFTA_CMP_OP, NFT_CMP_EQ)
            .nest(NFTA_CMP_DATA, Attrs::default().raw(NFTA_DATA_VALUE, data)),
    )
}

fn bitwise_mask(mask: &[u8]) -> Attrs {
    expr(
        "bitwise",
        Attrs::default()
            .be32(NFTA_BITWISE_SREG, NFT_REG_1)
            .be32(NFTA_BITWISE_DREG, NFT_REG_1)
            .be32(NFTA_BITWISE_LEN, mask.len() as u32)
            .nest(
                NFTA_BITWISE_MASK,
                Attrs::default().raw(NFTA_DATA_VALUE, mask),
            )
            .nest(
                NFTA_BITWISE_XOR,
                Attrs::default().raw(NFTA_DATA_VALUE, &vec![0; mask.len()]),
            ),
    )
}

fn lookup(set: &str) -> Attrs {
    expr(
        "lookup",
        Attrs::default()
            .str(NFTA_LOOKUP_SET, set)
            .be32(NFTA_LOOKUP_SREG, NFT_REG_1),
    )
}

fn verdict(code: u32, chain: Option<&str>) -> Attrs {
    let mut v = Attrs::default().be32(NFTA_VERDICT_CODE, code);
    if let Some(c) = chain {
        v = v.str(NFTA_VERDICT_CHAIN, c);
    }
    expr(
        "immediate",
        Attrs::default()
            .be32(NFTA_IMMEDIATE_DREG, NFT_REG_VERDICT)
            .nest(
                NFTA_IMMEDIATE_DATA,
                Attrs::default().nest(NFTA_DATA_VERDICT, v),
            ),
    )
}

/// A batch of nf_tables messages between BATCH_BEGIN and BATCH_END, for one configuration
/// (table name, chain priority, counters).
struct Batch<'a> {
    buf: Vec<u8>,
    first_seq: u32,
    seq: u32,
    cfg: &'a NftablesSpec,
}

impl<'a> Batch<'a> {
    fn new(seq: u32, cfg: &'a NftablesSpec) -> Self {
        let mut b = Batch {
            buf: Vec::with_capacity(2048),
            first_seq: seq,
            seq,
            cfg,
        };
        // The batch messages carry the subsystem in nfgenmsg.res_id.
        b.msg_raw(
            NFNL_MSG_BATCH_BEGIN,
            0,
            0,
            NFNL_SUBSYS_NFTABLES,
            Attrs::default(),
        );
        b
    }

    fn msg_raw(&mut self, ty: u16, flags: u16, family: u8, res_id: u16, attrs: Attrs) {
        let len = 16 + 4 + attrs.0.len();
        self.buf.extend_from_slice(&(len as u32).to_ne_bytes());
        self.buf.extend_from_slice(&ty.to_ne_bytes());
        self.buf
            .extend_from_slice(&(flags | libc::NLM_F_REQUEST as u16).to_ne_bytes());
        self.buf.extend_from_slice(&self.seq.to_ne_bytes());
        self.buf.extend_from_slice(&0u32.to_ne_bytes());
        // struct nfgenmsg { family, version = NFNETLINK_V0, res_id (big endian) }
        self.buf.push(family);
        self.buf.push(0);
        self.buf.extend_from_slice(&res_id.to_be_bytes());
        self.buf.extend_from_slice(&attrs.0);
        self.seq = self.seq.wrapping_add(1);
    }

    /// An nf_tables request, acknowledged (NLM_F_ACK).
    fn msg(&mut self, cmd: u16, extra_flags: u16, family: u8, attrs: Attrs) {
        let ty = (NFNL_SUBSYS_NFTABLES << 8) | cmd;
        let flags = libc::NLM_F_ACK as u16 | extra_flags;
        self.msg_raw(ty, flags, family, 0, attrs);
    }

    fn finish(mut self) -> (Vec<u8>, u32, u32) {
        self.msg_raw(
            NFNL_MSG_BATCH_END,
            0,
            0,
            NFNL_SUBSYS_NFTABLES,
            Attrs::default(),
        );
        // Requests are the messages between the begin and end markers.
        (
            self.buf,
            self.first_seq.wrapping_add(1),
            self.seq.wrapping_sub(2),
        )
    }
}

const CREATE: u16 = libc::NLM_F_CREATE as u16;

fn table_msg(b: &mut Batch, family: u8) {
    b.msg(
        NFT_MSG_NEWTABLE,
        CREATE,
        family,
        Attrs::default().str(NFTA_TABLE_NAME, &b.cfg.table),
    );
}

/// A set (or, with `map_data`, a map) of the table.
struct SetDef<'s> {
    name: &'s str,
    key_type: u32,
    key_len: u32,
    id: u32,
    /// `flags constant` with this many elements.
    constant: Option<u32>,
    /// A map's value type and length.
    map_data: Option<(u32, u32)>,
    udata: &'s [u8],
}

fn set_msg(b: &mut Batch, family: u8, d: &SetDef) {
    let mut flags = 0;
    if d.constant.is_some() {
        flags |= NFT_SET_CONSTANT;
    }
    if d.map_data.is_some() {
        flags |= NFT_SET_MAP;
    }
    let mut a = Attrs::default()
        .str(NFTA_SET_TABLE, &b.cfg.table)
        .str(NFTA_SET_NAME, d.name)
        .be32(NFTA_SET_FLAGS, flags)
        .be32(NFTA_SET_KEY_TYPE, d.key_type)
        .be32(NFTA_SET_KEY_LEN, d.key_len);
    if let Some((ty, len)) = d.map_data {
        a = a.be32(NFTA_SET_DATA_TYPE, ty).be32(NFTA_SET_DATA_LEN, len);
    }
    a = a.be32(NFTA_SET_ID, d.id);
    if let Some(size) = d.constant {
        a = a.nest(
            NFTA_SET_DESC,
            Attrs::default().be32(NFTA_SET_DESC_SIZE, size),
        );
    }
    a = a.raw(NFTA_SET_USERDATA, d.udata);
    b.msg(NFT_MSG_NEWSET, CREATE, family, a);
}

/// A set of big-endian keys (addresses, ICMPv6 types).
fn plain_set(name: &str, key_type: u32, key_len: u32, id: u32) -> SetDef<'_> {
    SetDef {
        name,
        key_type,
        key_len,
        id,
        constant: None,
        map_data: None,
        udata: &UDATA_KEY_BIG_ENDIAN,
    }
}

fn chain_msg(b: &mut Batch, family: u8, name: &str, hook: Option<u32>) {
    let mut a = Attrs::default()
        .str(NFTA_CHAIN_TABLE, &b.cfg.table)
        .str(NFTA_CHAIN_NAME, name);
    if let Some(h) = hook {
        // keepalived compat: "type filter hook input|output priority filter - 1" unless
        // `nftables_priority` says otherwise.
        a = a
            .nest(
                NFTA_CHAIN_HOOK,
                Attrs::default()
                    .be32(NFTA_HOOK_HOOKNUM, h)
                    .be32(NFTA_HOOK_PRIORITY, b.cfg.priority as u32),
            )
            .be32(NFTA_CHAIN_POLICY, NF_ACCEPT)
            .str(NFTA_CHAIN_TYPE, "filter");
    }
    b.msg(NFT_MSG_NEWCHAIN, CREATE, family, a);
}

fn rule_msg(b: &mut Batch, family: u8, chain: &str, mut exprs: Vec<Attrs>) {
    if b.cfg.counters && exprs.len() > 1 {
        // `nftables_counters`: a counter just before the verdict.
        exprs.insert(exprs.len() - 1, expr("counter", Attrs::default()));
    }
    let mut list = Attrs::default();
    for e in exprs {
        list = list.nest(NFTA_LIST_ELEM, e);
    }
    let a = Attrs::default()
        .str(NFTA_RULE_TABLE, &b.cfg.table)
        .str(NFTA_RULE_CHAIN, chain)
        .nest(NFTA_RULE_EXPRESSIONS, list);
    b.msg(
        NFT_MSG_NEWRULE,
        CREATE | libc::NLM_F_APPEND as u16,
        family,
        a,
    );
}

fn elems_msg(b: &mut Batch, add: bool, family: u8, set: &str, keys: &[Vec<u8>]) {
    let elems: Vec<(Vec<u8>, Option<Vec<u8>>)> = keys.iter().map(|k| (k.clone(), None)).collect();
    map_elems_msg(b, add, family, set, &elems);
}

/// Set elements, or map elements when they carry a value.
fn map_elems_msg(
    b: &mut Batch,
    add: bool,
    family: u8,
    set: &str,
    elems: &[(Vec<u8>, Option<Vec<u8>>)],
) {
    let mut list = Attrs::default();
    for (k, v) in elems {
        let mut e =
            Attrs::default().nest(NFTA_SET_ELEM_KEY, Attrs::default().raw(NFTA_DATA_VALUE, k));
        if let Some(v) = v {
            e = e.nest(NFTA_SET_ELEM_DATA, Attrs::default().raw(NFTA_DATA_VALUE, v));
        }
        list = list.nest(NFTA_LIST_ELEM, e);
    }
    let a = Attrs::default()
        .str(NFTA_SET_ELEM_LIST_TABLE, &b.cfg.table)
        .str(NFTA_SET_ELEM_LIST_SET, set)
        .nest(NFTA_SET_ELEM_LIST_ELEMENTS, list);
    if add {
        b.msg(NFT_MSG_NEWSETELEM, CREATE, family, a);
    } else {
        b.msg(NFT_MSG_DELSETELEM, 0, family, a);
    }
}

/// keepalived's IPv4 no accept parts: the `vips` set and the two drop rules (`out` may exist
/// already, made for a VMAC).
fn build_ipv4_vips(b: &mut Batch, have_out: bool) {
    let f = NFPROTO_IPV4;
    set_msg(b, f, &plain_set("vips", TYPE_IPADDR, 4, 1));
    if !have_out {
        chain_msg(b, f, "out", Some(NF_INET_LOCAL_OUT));
    }
    chain_msg(b, f, "in", Some(NF_INET_LOCAL_IN));
    // ip saddr @vips drop / ip daddr @vips drop
    for (chain, offset) in [("out", 12), ("in", 16)] {
        rule_msg(
            b,
            f,
            chain,
            vec![
                payload(NFT_PAYLOAD_NETWORK_HEADER, offset, 4, NFT_REG_1),
                lookup("vips"),
                verdict(NF_DROP, None),
            ],
        );
    }
}

/// keepalived's IPv6 no accept parts: neighbour discovery always passes, link-local VIPs are
/// matched with their interface (`out` may exist already, made for a VMAC).
fn build_ipv6_vips(b: &mut Batch, have_out: bool) {
    let f = NFPROTO_IPV6;
    set_msg(b, f, &plain_set("vips", TYPE_IP6ADDR, 16, 1));
    set_msg(
        b,
        f,
        &SetDef {
            constant: Some(2),
            ..plain_set("neighbor-discovery", TYPE_ICMP6_TYPE, 1, 2)
        },
    );
    elems_msg(
        b,
        true,
        f,
        "neighbor-discovery",
        &[vec![ND_NEIGHBOR_SOLICIT], vec![ND_NEIGHBOR_ADVERT]],
    );
    set_msg(
        b,
        f,
        &plain_set(
            "vips_link_local",
            (TYPE_IP6ADDR << TYPE_BITS) | TYPE_IFINDEX,
            20,
            3,
        ),
    );
    if !have_out {
        chain_msg(b, f, "out", Some(NF_INET_LOCAL_OUT));
    }
    chain_msg(b, f, "in", Some(NF_INET_LOCAL_IN));
    chain_msg(b, f, "in_link_local", None);
    chain_msg(b, f, "out_link_local", None);
    let ll_mask: [u8; 16] = Ipv6Addr::new(0xffc0, 0, 0, 0, 0, 0, 0, 0).octets();
    let ll_net: [u8; 16] = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0).octets();
    // (chain, address offset: saddr 8 / daddr 24, link-local chain, iif/oif)
    for (chain, offset, ll_chain) in [("out", 8, "out_link_local"), ("in", 24, "in_link_local")] {
        // icmpv6 type @neighbor-discovery accept
        rule_msg(
            b,
            f,
            chain,
            vec![
                meta(NFT_META_L4PROTO, NFT_REG_1),
                cmp_eq(&[libc::IPPROTO_ICMPV6 as u8]),
                payload(NFT_PAYLOAD_TRANSPORT_HEADER, 0, 1, NFT_REG_1),
                lookup("neighbor-discovery"),
                verdict(NF_ACCEPT, None),
            ],
        );
        // ip6 saddr|daddr fe80::/10 goto *_link_local
        rule_msg(
            b,
            f,
            chain,
            vec![
                payload(NFT_PAYLOAD_NETWORK_HEADER, offset, 16, NFT_REG_1),
                bitwise_mask(&ll_mask),
                cmp_eq(&ll_net),
                verdict(NFT_GOTO, Some(ll_chain)),
            ],
        );
        // ip6 saddr|daddr @vips drop
        rule_msg(
            b,
            f,
            chain,
            vec![
                payload(NFT_PAYLOAD_NETWORK_HEADER, offset, 16, NFT_REG_1),
                lookup("vips"),
                verdict(NF_DROP, None),
            ],
        );
    }
    // ip6 daddr . iif @vips_link_local drop / ip6 saddr . oif @vips_link_local drop
    for (chain, offset, key) in [
        ("in_link_local", 24, NFT_META_IIF),
        ("out_link_local", 8, NFT_META_OIF),
    ] {
        rule_msg(
            b,
            f,
            chain,
            vec![
                payload(NFT_PAYLOAD_NETWORK_HEADER, offset, 16, NFT_REG_1),
                meta(key, NFT_REG_2),
                lookup("vips_link_local"),
                verdict(NF_DROP, None),
            ],
        );
    }
}

/// keepalived's VMAC parts of a family's table (`out` may exist already): multicast listener
/// reports leaving a VMAC are sent again from its parent and dropped on the VMAC, so switches
/// never learn the virtual MAC from a BACKUP's joins; IPv6 router solicitations from a VMAC
/// are dropped.
fn build_vmac(b: &mut Batch, family: u8, have_out: bool) {
    let f = family;
    let map = SetDef {
        map_data: Some((TYPE_IFINDEX, 4)),
        udata: &UDATA_KEY_DATA_HOST,
        ..plain_set("vmac_map", TYPE_IFINDEX, 4, 4)
    };
    set_msg(b, f, &map);
    if f == NFPROTO_IPV6 {
        set_msg(
            b,
            f,
            &SetDef {
                udata: &UDATA_KEY_HOST,
                ..plain_set("vmac_set", TYPE_IFINDEX, 4, 5)
            },
        );
    }
    if !have_out {
        chain_msg(b, f, "out", Some(NF_INET_LOCAL_OUT));
    }
    let mut macvlan = [0u8; 16];
    macvlan[..7].copy_from_slice(b"macvlan");
    // ... meta oifkind "macvlan" dup to ip[6] daddr device oif map @vmac_map drop
    let dup_to_parent = |daddr_at: u32, len: u32| {
        vec![
            meta(NFT_META_OIFKIND, NFT_REG_1),
            cmp_eq(&macvlan),
            payload(NFT_PAYLOAD_NETWORK_HEADER, daddr_at, len, NFT_REG_1),
            meta(NFT_META_OIF, NFT_REG_2),
            expr(
                "lookup",
                Attrs::default()
                    .str(NFTA_LOOKUP_SET, "vmac_map")
                    .be32(NFTA_LOOKUP_SREG, NFT_REG_2)
                    .be32(NFTA_LOOKUP_DREG, NFT_REG_2),
            ),
            expr(
                "dup",
                Attrs::default()
                    .be32(NFTA_DUP_SREG_ADDR, NFT_REG_1)
                    .be32(NFTA_DUP_SREG_DEV, NFT_REG_2),
            ),
            verdict(NF_DROP, None),
        ]
    };
    if f == NFPROTO_IPV4 {
        // ip protocol igmp ...
        let mut e = vec![
            payload(NFT_PAYLOAD_NETWORK_HEADER, 9, 1, NFT_REG_1),
            cmp_eq(&[IGMP]),
        ];
        e.extend(dup_to_parent(16, 4));
        rule_msg(b, f, "out", e);
    } else {
        let icmpv6_type = |t: u8| {
            vec![
                meta(NFT_META_L4PROTO, NFT_REG_1),
                cmp_eq(&[libc::IPPROTO_ICMPV6 as u8]),
                payload(NFT_PAYLOAD_TRANSPORT_HEADER, 0, 1, NFT_REG_1),
                cmp_eq(&[t]),
            ]
        };
        // icmpv6 type mld2-listener-report ...
        let mut e = icmpv6_type(MLD2_LISTENER_REPORT);
        e.extend(dup_to_parent(24, 16));
        rule_msg(b, f, "out", e);
        // icmpv6 type nd-router-solicit meta oifkind "macvlan" oif @vmac_set drop
        let mut e = icmpv6_type(ND_ROUTER_SOLICIT);
        e.extend([
            meta(NFT_META_OIFKIND, NFT_REG_1),
            cmp_eq(&macvlan),
            meta(NFT_META_OIF, NFT_REG_1),
            lookup("vmac_set"),
            verdict(NF_DROP, None),
        ]);
        rule_msg(b, f, "out", e);
    }
}

/// Is `a` an IPv6 link-local address (fe80::/10)?
fn is_link_local(a: &Ipv6Addr) -> bool {
    a.segments()[0] & 0xffc0 == 0xfe80
}

/// The set and key an address goes into.
fn set_and_key(addr: IpAddr, ifindex: u32) -> (u8, &'static str, Vec<u8>) {
    match addr {
        IpAddr::V4(a) => (NFPROTO_IPV4, "vips", a.octets().to_vec()),
        IpAddr::V6(a) if is_link_local(&a) => {
            let mut k = a.octets().to_vec();
            // iif/oif are host-order interface indexes.
            k.extend_from_slice(&ifindex.to_ne_bytes());
            (NFPROTO_IPV6, "vips_link_local", k)
        }
        IpAddr::V6(a) => (NFPROTO_IPV6, "vips", a.octets().to_vec()),
    }
}

/// What one family's table holds so far.
#[derive(Clone, Copy, Debug, Default)]
struct TableParts {
    table: bool,
    out_chain: bool,
    vips: bool,
    vmac: bool,
}

/// The daemon's firewall: which tables exist and which addresses and VMACs are in them.
pub struct Firewall {
    fd: OwnedFd,
    cfg: NftablesSpec,
    seq: u32,
    v4: TableParts,
    v6: TableParts,
    blocked: BTreeSet<(IpAddr, u32)>,
    vmacs: BTreeSet<(u32, u32, bool)>,
}

impl Firewall {
    /// Open the netfilter socket and remove tables a previous run may have left. The table
    /// name, chain priority and counters are fixed for the daemon's life (keepalived compat:
    /// a reload cannot change them either).
    pub fn open(cfg: &NftablesSpec) -> Result<Self, SysError> {
        let fd = socket::socket(
            AddressFamily::Netlink,
            SockType::Raw,
            SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK,
            SockProtocol::NetlinkNetFilter,
        )
        .ctx("socket(AF_NETLINK, NETLINK_NETFILTER)", "nftables")?;
        socket::bind(fd.as_raw_fd(), &NetlinkAddr::new(0, 0))
            .ctx("bind(AF_NETLINK)", "nftables")?;
        let mut fw = Firewall {
            fd,
            cfg: cfg.clone(),
            seq: 1,
            v4: TableParts::default(),
            v6: TableParts::default(),
            blocked: BTreeSet::new(),
            vmacs: BTreeSet::new(),
        };
        fw.v4.table = true;
        fw.v6.table = true;
        fw.delete_tables(true);
        Ok(fw)
    }

    fn parts(&mut self, family: u8) -> &mut TableParts {
        if family == NFPROTO_IPV4 {
            &mut self.v4
        } else {
            &mut self.v6
        }
    }

    /// Queue what `family`'s table lacks for the no accept rules (`vips`) or for VMACs, and
    /// return the parts as they will be once the batch succeeds.
    fn complete(&mut self, b: &mut Batch, family: u8, vips: bool, vmac: bool) -> TableParts {
        let mut p = *self.parts(family);
        if !p.table {
            table_msg(b, family);
            p.table = true;
        }
        if vmac && !p.vmac {
            build_vmac(b, family, p.out_chain);
            p.vmac = true;
            p.out_chain = true;
        }
        if vips && !p.vips {
            if family == NFPROTO_IPV4 {
                build_ipv4_vips(b, p.out_chain);
            } else {
                build_ipv6_vips(b, p.out_chain);
            }
            p.vips = true;
            p.out_chain = true;
        }
        p
    }

    /// `use_vmac`: a VMAC (ifindex `vmac`, on `parent`) exists; IPv6 VMACs go in the ip6
    /// table.
    pub fn add_vmac(&mut self, vmac: u32, parent: u32, v6: bool) -> Result<(), SysError> {
        if !self.vmacs.insert((vmac, parent, v6)) {
            return Ok(());
        }
        self.vmac_elems(vmac, parent, v6, true)
    }

    /// The VMAC with ifindex `vmac` is going away.
    pub fn del_vmac(&mut self, vmac: u32) -> Result<(), SysError> {
        let Some(&(_, parent, v6)) = self.vmacs.iter().find(|(v, _, _)| *v == vmac) else {
            return Ok(());
        };
        self.vmacs.remove(&(vmac, parent, v6));
        self.vmac_elems(vmac, parent, v6, false)
    }

    fn vmac_elems(&mut self, vmac: u32, parent: u32, v6: bool, add: bool) -> Result<(), SysError> {
        let family = if v6 { NFPROTO_IPV6 } else { NFPROTO_IPV4 };
        let cfg = self.cfg.clone();
        let mut b = Batch::new(self.seq, &cfg);
        let parts = if add {
            self.complete(&mut b, family, false, true)
        } else {
            *self.parts(family)
        };
        let key = vmac.to_ne_bytes().to_vec();
        map_elems_msg(
            &mut b,
            add,
            family,
            "vmac_map",
            &[(key.clone(), Some(parent.to_ne_bytes().to_vec()))],
        );
        if v6 {
            elems_msg(&mut b, add, family, "vmac_set", &[key]);
        }
        let benign = (!add).then_some(Errno::ENOENT);
        self.run(
            b,
            &format!("nftables table {}, VMAC ifindex {vmac}", self.cfg.table),
            benign,
        )?;
        *self.parts(family) = parts;
        Ok(())
    }

    /// Drop traffic to and from `addr` (on `ifindex` for an IPv6 link-local address).
    pub fn block(&mut self, addr: IpAddr, ifindex: u32) -> Result<(), SysError> {
        if self.blocked.contains(&(addr, ifindex)) {
            return Ok(());
        }
        let cfg = self.cfg.clone();
        let mut b = Batch::new(self.seq, &cfg);
        let (family, set, key) = set_and_key(addr, ifindex);
        let parts = self.complete(&mut b, family, true, false);
        elems_msg(&mut b, true, family, set, &[key]);
        self.run(
            b,
            &format!("nftables table {}, set {set}, {addr}", self.cfg.table),
            None,
        )?;
        *self.parts(family) = parts;
        self.blocked.insert((addr, ifindex));
        Ok(())
    }

    /// Stop dropping traffic for `addr` (no-op when it is not blocked).
    pub fn unblock(&mut self, addr: IpAddr, ifindex: u32) -> Result<(), SysError> {
        if !self.blocked.remove(&(addr, ifindex)) {
            return Ok(());
        }
        let cfg = self.cfg.clone();
        let mut b = Batch::new(self.seq, &cfg);
        let (family, set, key) = set_and_key(addr, ifindex);
        elems_msg(&mut b, false, family, set, &[key]);
        self.run(
            b,
            &format!("nftables table {}, set {set}, {addr}", self.cfg.table),
            Some(Errno::ENOENT),
        )
    }

    /// Delete our tables (at exit). With `stale`, tables of an earlier run, which may not exist.
    pub fn delete_tables(&mut self, stale: bool) -> Vec<SysError> {
        let mut errs = vec![];
        for (family, parts) in [(NFPROTO_IPV4, self.v4), (NFPROTO_IPV6, self.v6)] {
            if !parts.table {
                continue;
            }
            // One batch per table: a missing table fails its whole batch.
            let cfg = self.cfg.clone();
            let mut b = Batch::new(self.seq, &cfg);
            b.msg(
                NFT_MSG_DELTABLE,
                0,
                family,
                Attrs::default().str(NFTA_TABLE_NAME, &b.cfg.table),
            );
            let fam = if family == NFPROTO_IPV4 { "ip" } else { "ip6" };
            if let Err(e) = self.run(
                b,
                &format!("nftables table {fam} {}", self.cfg.table),
                Some(Errno::ENOENT),
            ) && !stale
            {
                errs.push(e);
            }
        }
        self.v4 = TableParts::default();
        self.v6 = TableParts::default();
        self.blocked.clear();
        self.vmacs.clear();
        errs
    }

    /// Send one batch and read its acknowledgements (already queued: the kernel ran the batch
    /// in sendmsg). The first error is returned; `benign` is an errno that counts as success.
    fn run(&mut self, b: Batch, obj: &str, benign: Option<Errno>) -> Result<(), SysError> {
        let (buf, first, last) = b.finish();
        // The end marker took last + 1.
        self.seq = last.wrapping_add(2);
        let to = NetlinkAddr::new(0, 0);
        loop {
            match socket::sendto(self.fd.as_raw_fd(), &buf, &to, MsgFlags::empty()) {
                Ok(_) => break,
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(SysError::new("sendto(NETLINK_NETFILTER batch)", obj, e)),
            }
        }
        let mut result = Ok(());
        let mut acked = 0u32;
        let want = last.wrapping_sub(first).wrapping_add(1);
        let mut rx = vec![0u8; 16384];
        while acked < want {
            let n = match socket::recv(self.fd.as_raw_fd(), &mut rx, MsgFlags::MSG_DONTWAIT) {
                Ok(n) => n,
                Err(Errno::EINTR) => continue,
                // Every request has been answered that is going to be (a failed batch stops
                // at its first error).
                Err(Errno::EAGAIN) => break,
                Err(e) => return Err(SysError::new("recv(NETLINK_NETFILTER)", obj, e)),
            };
            let mut off = 0;
            while off + 16 <= n {
                let len =
                    u32::from_ne_bytes(rx[off..off + 4].try_into().unwrap_or([0; 4])) as usize;
                let ty = u16::from_ne_bytes(rx[off + 4..off + 6].try_into().unwrap_or([0; 2]));
                if len < 16 || off + len > n {
                    break;
                }
                if i32::from(ty) == libc::NLMSG_ERROR && len >= 20 {
                    acked += 1;
                    let err =
                        i32::from_ne_bytes(rx[off + 16..off + 20].try_into().unwrap_or([0; 4]));
                    if err != 0 && result.is_ok() {
                        let errno = Errno::from_raw(-err);
                        if Some(errno) != benign {
                            result = Err(SysError::new("nftables batch", obj, errno));
                        }
                    }
                }
                off += align4(len);
            }
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_are_aligned_and_nested_flagged() {
        let a = Attrs::default()
            .str(1, "in")
            .nest(2, Attrs::default().be32(1, 7));
        // "in\0" is 3 bytes: header 4 + 3, padded to 8.
        assert_eq!(&a.0[..8], &[7, 0, 1, 0, b'i', b'n', 0, 0]);
        assert_eq!(u16::from_ne_bytes([a.0[10], a.0[11]]), 2 | NLA_F_NESTED);
        assert_eq!(&a.0[12..], &[8, 0, 1, 0, 0, 0, 0, 7]);
    }

    #[test]
    fn batch_is_framed_by_begin_and_end_with_consecutive_sequence_numbers() {
        let cfg = NftablesSpec::default();
        let mut b = Batch::new(100, &cfg);
        table_msg(&mut b, NFPROTO_IPV4);
        build_ipv4_vips(&mut b, false);
        let (buf, first, last) = b.finish();
        // begin, table, set, 2 chains, 2 rules, end.
        assert_eq!((first, last), (101, 106));
        let mut off = 0;
        let mut types = vec![];
        while off < buf.len() {
            let len = u32::from_ne_bytes(buf[off..off + 4].try_into().unwrap()) as usize;
            types.push(u16::from_ne_bytes(
                buf[off + 4..off + 6].try_into().unwrap(),
            ));
            off += len;
        }
        assert_eq!(off, buf.len());
        let nft = |c: u16| (NFNL_SUBSYS_NFTABLES << 8) | c;
        assert_eq!(
            types,
            [
                NFNL_MSG_BATCH_BEGIN,
                nft(NFT_MSG_NEWTABLE),
                nft(NFT_MSG_NEWSET),
                nft(NFT_MSG_NEWCHAIN),
                nft(NFT_MSG_NEWCHAIN),
                nft(NFT_MSG_NEWRULE),
                nft(NFT_MSG_NEWRULE),
                NFNL_MSG_BATCH_END
            ]
        );
    }

    #[test]
    fn link_local_addresses_are_keyed_with_their_interface() {
        let (f, set, key) = set_and_key("fe80::200".parse().unwrap(), 7);
        assert_eq!((f, set, key.len()), (NFPROTO_IPV6, "vips_link_local", 20));
        assert_eq!(&key[16..], &7u32.to_ne_bytes());
        let (_, set, key) = set_and_key("fd00::200".parse().unwrap(), 7);
        assert_eq!((set, key.len()), ("vips", 16));
        let (f, set, key) = set_and_key("10.0.0.1".parse().unwrap(), 7);
        assert_eq!((f, set, key), (NFPROTO_IPV4, "vips", vec![10, 0, 0, 1]));
    }
}
