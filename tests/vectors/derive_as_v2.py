#!/usr/bin/env python3
"""Derive v3_ipv4_mcast_as_v2.hex from the first frame of v3_ipv4_mcast.hex: Debian's keepalived
2.2.7 has no `v3_checksum_as_v2`, so the VRRP checksum is recomputed over the VRRP message alone
(RFC 9568 §5.2.8 for IPv4). Everything else is the captured frame. Verified independently with
  tshark -o vrrp.v3_checksum_as_in_v2:TRUE  (checksum status: Good)."""
import sys
frames = [l.strip() for l in open('v3_ipv4_mcast.hex') if l.strip() and not l.startswith('#')]
f = bytearray.fromhex(frames[0])
ihl = (f[14] & 0x0f) * 4
v = 14 + ihl
f[v + 6:v + 8] = b'\0\0'
s = sum(int.from_bytes(f[i:i + 2], 'big') for i in range(v, len(f), 2))
while s > 0xffff:
    s = (s & 0xffff) + (s >> 16)
f[v + 6:v + 8] = (~s & 0xffff).to_bytes(2, 'big')
with open('v3_ipv4_mcast_as_v2.hex', 'w') as out:
    out.write('# Derived by derive_as_v2.py from the first frame of v3_ipv4_mcast.hex: same frame,\n')
    out.write('# VRRP checksum recomputed without the IPv4 pseudo-header (v3_checksum_as_v2).\n')
    out.write(f.hex() + '\n')
