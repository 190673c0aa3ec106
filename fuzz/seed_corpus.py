#!/usr/bin/env python3
"""Seed fuzz/corpus/* (run inside fuzz/).

packet_parse: a context-selector byte followed by a captured frame, its L3 datagram or its
VRRP payload (tests/vectors), plus keepalived 2.2.7's AH datagram (src/vrrp/ah.rs).
config_parse: the configs under config/ and tests/configs/.
core_inputs: a few input programs (see the target for the encoding).
smtp_replies: server scripts that complete the mail or fail it at each step."""
import glob, os


def put(target, name, data):
    os.makedirs(f'corpus/{target}', exist_ok=True)
    with open(f'corpus/{target}/{name}', 'wb') as out:
        out.write(data)


n = 0
frames = []
for f in sorted(glob.glob('../tests/vectors/*.hex')):
    for line in open(f):
        line = line.strip()
        if line and not line.startswith('#'):
            frames.append(bytes.fromhex(line))
# keepalived 2.2.7, auth_type AH, auth_pass secret12 (the unit test's capture).
frames.append(bytes.fromhex(
    '45c0 0040 0001 0000 ff33 d052 0a63 0002 e000 0012 7004 0000 0a63 0002 0000 0001 502e 4b99'
    'a0e4 7e12 ede5 cb0a 2133 6401 0201 6d9f 0a63 00c8 0000 0000 0000 0000'))
for b in frames:
    for sel in (1, 5):
        for cut in (0, 14, 34, 54):
            if len(b) > cut:
                put('packet_parse', f'seed{n}', bytes([sel]) + b[cut:])
                n += 1
print(f'packet_parse: {n} seeds')

n = 0
for f in sorted(glob.glob('../config/**/*.conf', recursive=True) +
                glob.glob('../tests/configs/**/*.conf', recursive=True)):
    put('config_parse', f'seed{n}', open(f, 'rb').read())
    n += 1
print(f'config_parse: {n} seeds')

# core_inputs: variant byte, then ops (op byte: low nibble = op, high nibble = flags; arg byte;
# op-specific bytes). 0x06 = step to the next deadline; 0x08 = a valid advert
# (which, priority, src, count, interval); arg bit 0 = AH-wrapped.
to_deadline = bytes([0x06, 0]) * 8
adv = lambda arg, which, prio, src: bytes([0x08, arg, which, prio, src, 1, 1])
progs = {
    'startup': to_deadline,
    'ah_master_then_backup': to_deadline + adv(1, 2, 200, 9) * 3 + to_deadline,
    'ah_wrong_key': to_deadline + adv(3, 2, 200, 9) + adv(17, 2, 200, 9) + to_deadline,
    'pass_and_v3': adv(0, 0, 200, 9) + adv(0, 1, 200, 2) + to_deadline + adv(0, 0, 0, 9),
    'vmac_statics': to_deadline + bytes([0x09, 1, 0x09, 0, 0x03, 200, 0x05, 0x7f]) + to_deadline,
    'reload_variants': b''.join(bytes([0x05, v]) + to_deadline[:4] for v in (0, 0x7f, 0x15, 3)),
}
for variant, tag in ((0, 'v0'), (0x1d, 'vmac_noaccept'), (0x7f, 'all')):
    for name, prog in progs.items():
        put('core_inputs', f'{tag}_{name}', bytes([variant]) + prog)
print(f'core_inputs: {len(progs) * 3} seeds')

# smtp_replies: flags (recipients in bits 0-1, events in bit 2), seed, server bytes.
ok = [b'220 fake ESMTP\r\n', b'250 hi\r\n', b'250 OK\r\n']
n = 0
for rcpts in range(4):
    script = ok + [b'250 OK\r\n'] * rcpts + [b'354 go ahead\r\n', b'250 queued\r\n']
    for events in (0, 4):
        put('smtp_replies', f'ok_{rcpts}_{events}', bytes([rcpts | events, 7]) + b''.join(script))
        for k in range(len(script)):
            bad = script[:k] + [b'550-no\r\n550 really not\r\n']
            put('smtp_replies', f'fail_{rcpts}_{events}_{k}', bytes([rcpts | events, k]) + b''.join(bad))
            n += 1
        n += 1
put('smtp_replies', 'multiline', bytes([1, 3]) + b'220-a\r\n220-b\r\n220 c\r\n250-x\n250 y\n' +
    b'250 OK\r\n250 OK\r\n354\r\n250\r\n')
print(f'smtp_replies: {n + 1} seeds')

# config_parse dictionary: every keyword (first word of a line) in the seeds, for -dict=.
words = set()
for f in glob.glob('../config/**/*.conf', recursive=True) + glob.glob('../tests/configs/*.conf'):
    for line in open(f, 'rb'):
        w = line.split()
        if w and w[0].isascii() and w[0][:1].isalpha() and w[0].replace(b'_', b'').isalnum():
            words.add(w[0].decode())
with open('corpus/config_parse.dict', 'w') as out:
    for w in sorted(words):
        out.write(f'"{w}"\n')
print(f'config_parse.dict: {len(words)} keywords')
