//! Per-instance counters, named as keepalived names them (keepalived.stats / keepalived.json).

use std::fmt::Write as _;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub advert_rcvd: u64,
    pub advert_sent: u64,
    pub become_master: u64,
    pub release_master: u64,
    pub packet_len_err: u64,
    pub advert_interval_err: u64,
    pub ip_ttl_err: u64,
    pub invalid_type_rcvd: u64,
    pub addr_list_err: u64,
    pub invalid_authtype: u64,
    pub authtype_mismatch: u64,
    pub auth_failure: u64,
    pub pri_zero_rcvd: u64,
    pub pri_zero_sent: u64,
    /// Bad checksum (keepalived: SNMP-only `chk_err`; not in keepalived.stats / .json).
    pub chk_err: u64,
    /// Bad VRRP version (keepalived: SNMP-only `vers_err`; not in keepalived.stats / .json).
    pub vers_err: u64,
}

impl Stats {
    /// keepalived 2.2.7 `keepalived.stats` block for one instance.
    pub fn write_stats_block(&self, name: &str, out: &mut String) {
        let _ = write!(
            out,
            "VRRP Instance: {name}\n  Advertisements:\n    Received: {}\n    Sent: {}\n  Became master: {}\n  Released master: {}\n  Packet Errors:\n    Length: {}\n    TTL: {}\n    Invalid Type: {}\n    Advertisement Interval: {}\n    Address List: {}\n  Authentication Errors:\n    Invalid Type: {}\n    Type Mismatch: {}\n    Failure: {}\n  Priority Zero:\n    Received: {}\n    Sent: {}\n",
            self.advert_rcvd,
            self.advert_sent,
            self.become_master,
            self.release_master,
            self.packet_len_err,
            self.ip_ttl_err,
            self.invalid_type_rcvd,
            self.advert_interval_err,
            self.addr_list_err,
            self.invalid_authtype,
            self.authtype_mismatch,
            self.auth_failure,
            self.pri_zero_rcvd,
            self.pri_zero_sent,
        );
    }

    /// keepalived json_version 1 `stats` object.
    pub fn write_json(&self, out: &mut String) {
        let _ = write!(
            out,
            "{{\"advert_rcvd\":{},\"advert_sent\":{},\"become_master\":{},\"release_master\":{},\"packet_len_err\":{},\"advert_interval_err\":{},\"ip_ttl_err\":{},\"invalid_type_rcvd\":{},\"addr_list_err\":{},\"invalid_authtype\":{},\"authtype_mismatch\":{},\"auth_failure\":{},\"pri_zero_rcvd\":{},\"pri_zero_sent\":{}}}",
            self.advert_rcvd,
            self.advert_sent,
            self.become_master,
            self.release_master,
            self.packet_len_err,
            self.advert_interval_err,
            self.ip_ttl_err,
            self.invalid_type_rcvd,
            self.addr_list_err,
            self.invalid_authtype,
            self.authtype_mismatch,
            self.auth_failure,
            self.pri_zero_rcvd,
            self.pri_zero_sent,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_block_matches_keepalived_2_2_7() {
        // Observed from Debian's keepalived 2.2.7 on SIGUSR2 (one master, two adverts sent).
        let expected = "VRRP Instance: VI_1
  Advertisements:
    Received: 0
    Sent: 2
  Became master: 1
  Released master: 0
  Packet Errors:
    Length: 0
    TTL: 0
    Invalid Type: 0
    Advertisement Interval: 0
    Address List: 0
  Authentication Errors:
    Invalid Type: 0
    Type Mismatch: 0
    Failure: 0
  Priority Zero:
    Received: 0
    Sent: 0
";
        let s = Stats {
            advert_sent: 2,
            become_master: 1,
            ..Default::default()
        };
        let mut out = String::new();
        s.write_stats_block("VI_1", &mut out);
        assert_eq!(out, expected);
        let mut j = String::new();
        s.write_json(&mut j);
        assert_eq!(
            j,
            "{\"advert_rcvd\":0,\"advert_sent\":2,\"become_master\":1,\"release_master\":0,\"packet_len_err\":0,\"advert_interval_err\":0,\"ip_ttl_err\":0,\"invalid_type_rcvd\":0,\"addr_list_err\":0,\"invalid_authtype\":0,\"authtype_mismatch\":0,\"auth_failure\":0,\"pri_zero_rcvd\":0,\"pri_zero_sent\":0}"
        );
    }
}
