#!/usr/bin/env python3
"""Turn a pcap (from stdin) into the hex vector format of tests/vectors/*.hex: one Ethernet
frame per line as lowercase hex, each preceded by '# ' comment lines (tcpdump's summary)."""
import struct, subprocess, sys

data = sys.stdin.buffer.read()
magic = struct.unpack('<I', data[:4])[0]
endian = '<' if magic in (0xa1b2c3d4, 0xa1b23c4d) else '>'
summaries = subprocess.run(['tcpdump', '-nn', '-e', '-v', '-r', '-'], input=data,
                           capture_output=True).stdout.decode().splitlines()
# Group tcpdump's continuation lines (indented) with their first line.
groups = []
for line in summaries:
    if line[:1].isspace() and groups:
        groups[-1].append(line.strip())
    else:
        groups.append([line.split(' ', 1)[1] if ' ' in line else line])
off, i = 24, 0
while off + 16 <= len(data):
    _, _, incl, _ = struct.unpack(endian + 'IIII', data[off:off + 16])
    frame = data[off + 16:off + 16 + incl]
    off += 16 + incl
    for text in (groups[i] if i < len(groups) else []):
        print('# ' + text)
    print(frame.hex())
    i += 1
