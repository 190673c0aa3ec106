#!/usr/bin/env python3
"""Seed fuzz/corpus/packet_parse from the captured vectors (run inside fuzz/). Each seed is a
context-selector byte followed by a frame, its L3 datagram or its VRRP payload."""
import glob, os
os.makedirs('corpus/packet_parse', exist_ok=True)
n = 0
for f in sorted(glob.glob('../tests/vectors/*.hex')):
    for line in open(f):
        line = line.strip()
        if not line or line.startswith('#'):
            continue
        b = bytes.fromhex(line)
        for sel in (1, 5):
            for cut in (0, 14, 34, 54):
                if len(b) > cut:
                    with open(f'corpus/packet_parse/seed{n}', 'wb') as out:
                        out.write(bytes([sel]) + b[cut:])
                    n += 1
print(f'{n} seeds')
