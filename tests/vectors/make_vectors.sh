#!/bin/bash
# Regenerate tests/vectors/*.hex from a capture made by capture.sh:
#   bash tests/vectors/capture.sh /tmp/wirecap && bash tests/vectors/make_vectors.sh /tmp/wirecap/keepalived.pcap
set -eu
PCAP=${1:?usage: make_vectors.sh PCAP}
cd "$(dirname "$0")"
out() { # name, tcpdump filter
    tcpdump -r "$PCAP" -w - "$2" 2>/dev/null | python3 pcap2hex.py > "$1.hex"
    echo "$1.hex: $(grep -vc '^#' "$1.hex") frames"
}
# VRRP (proto 112) by VRID (octet 1 of the VRRP header; IPv4 headers here are 20 bytes).
out v2_ipv4_mcast_pass 'ip proto 112 and ip[21] = 51'
out v2_ipv4_unicast_pass 'ip proto 112 and ip[21] = 52'
out v3_ipv4_mcast 'ip proto 112 and ip[21] = 53'
out v3_ipv4_unicast 'ip proto 112 and ip[21] = 54'
out v3_ipv6_mcast 'ip6 and ip6[6] = 112'
out garp 'arp and ether dst ff:ff:ff:ff:ff:ff and arp[14:4] = arp[24:4]'
out unsolicited_na 'icmp6 and ip6[40] = 136'
