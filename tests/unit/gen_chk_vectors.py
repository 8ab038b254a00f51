#!/usr/bin/env python3
"""Prints the fixed vectors of tests/unit/test_chk.c, computed independently
of the C code with Python's hashlib and hmac from sessrec-shards(5),
"CHAINS AND CHECKPOINTS". Run it and compare with the constants there."""
import hashlib
import hmac

SID = '3f2c0c1e-9d6b-4c1a-8e2f-5a7b9c0d1e2f'
LINES = [
    '{"sid":"%s","hdr":{"version":2,"width":80,"height":24,"timestamp":1795521600},"meta":{"user":"alice"}}' % SID,
    '{"sid":"%s","t":0.512345,"ch":"o","d":"hello\\r\\n"}' % SID,
    '{"sid":"%s","t":0.600000,"ch":"i","d":"ls\\r"}' % SID,
]
END_BODY = '{"sid":"%s","end":{"duration":1.000000,"reason":"exit"}}' % SID
K0 = bytes(range(32))

h = hashlib.sha256(b'sessrec-chain-v1' + SID.encode()).digest()
print('h0', h.hex())
for i, line in enumerate(LINES):
    h = hashlib.sha256(h + line.encode()).digest()
    print('h%d' % (i + 1), h.hex())
k = K0
for e in range(1, 4):
    k = hmac.new(k, b'sessrec-evolve', hashlib.sha256).digest()
    print('k%d' % e, k.hex())
msg = 'sessrec-seal-v1 %s %d %s %d %d' % (SID, 3, h.hex(), 3, 1795524300)
print('seal(k3, n=3, epoch=3, time=1795524300)', hmac.new(k, msg.encode(), hashlib.sha256).hexdigest())
h4 = hashlib.sha256(h + END_BODY.encode()).digest()
print('h4 (end line without its chk)', h4.hex())
