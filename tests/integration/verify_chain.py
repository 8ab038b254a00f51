"""An independent verifier of sessrec hash chains and seals, written from
sessrec-shards(5), "CHAINS AND CHECKPOINTS" (not from the C code), with the
Python standard library only. verify(files, vkey) -> {sid: result}, where a
result is 'ok', 'ok-live' (no end line: verified up to its last
checkpoint) or a string naming the first problem. Also a command:
python3 verify_chain.py [--key VKEY] FILE..."""
import gzip
import hashlib
import hmac
import json
import re
import sys

CHK_END = re.compile(rb',"chk":(\{[^{}]*\})\}$')
CHK_LINE = re.compile(rb'^\{"sid":"([^"]*)","chk":(\{[^{}]*\})\}$')


def parse_vkey(text):
    hexkey, start, length = text.strip().split('/')
    return bytes.fromhex(hexkey), int(start), int(length)


def key_at(k0, epoch):
    k = k0
    for _ in range(epoch):
        k = hmac.new(k, b'sessrec-evolve', hashlib.sha256).digest()
    return k


def seal(k, sid, chk):
    msg = 'sessrec-seal-v1 %s %d %s %d %d' % (sid, chk['n'], chk['h'], chk['epoch'], chk['time'])
    return hmac.new(k, msg.encode(), hashlib.sha256).hexdigest()


def read_lines(path):
    opener = gzip.open if path.endswith('.gz') else open
    with opener(path, 'rb') as f:
        data = f.read()
    return data.split(b'\n')[:-1] if data.endswith(b'\n') else data.split(b'\n')


def verify(files, vkey=None):
    k0 = parse_vkey(vkey) if vkey else None
    keys = {}
    st = {}
    for path in files:
        for raw in read_lines(path):
            try:
                obj = json.loads(raw)
                sid = obj['sid']
            except (ValueError, KeyError, TypeError):
                continue
            s = st.setdefault(sid, {'n': 0, 'h': None, 'bad': None, 'end': False, 'chk': None})
            if s['bad']:
                continue
            if s['end']:
                s['bad'] = 'line after the end'
                continue
            if s['h'] is None:
                if 'hdr' not in obj:
                    s['bad'] = 'first line is not the header'
                    continue
                s['h'] = hashlib.sha256(b'sessrec-chain-v1' + sid.encode()).digest()
            elif 'hdr' in obj:
                s['bad'] = 'a second header'
                continue
            hashed = raw
            chk = None
            is_chk_line = False
            m = CHK_LINE.match(raw)
            if m:
                # a checkpoint line: covers the lines before it, then is chained itself
                chk = json.loads(m.group(2))
                is_chk_line = True
                cn, ch = s['n'], s['h']
            elif 'end' in obj:
                m = CHK_END.search(raw)
                if not m:
                    s['bad'] = 'end line without checkpoint'
                    continue
                chk = json.loads(m.group(1))
                hashed = raw[:m.start()] + b'}'
            h = hashlib.sha256(s['h'] + hashed).digest()
            if chk is not None and not is_chk_line:
                # the end line's checkpoint covers the end line too
                cn, ch = s['n'] + 1, h
            s['h'] = h
            s['n'] += 1
            if chk is None:
                continue
            if chk['n'] != cn or chk['h'] != ch.hex():
                s['bad'] = 'checkpoint mismatch at n=%d' % chk['n']
                continue
            if 'seal' in chk and k0:
                key, start, length = k0
                e = chk['epoch']
                if e not in keys:
                    keys[e] = key_at(key, e)
                if not hmac.compare_digest(seal(keys[e], sid, chk), chk['seal']):
                    s['bad'] = 'seal invalid at n=%d' % chk['n']
                    continue
                if not (start + e * length <= chk['time'] < start + (e + 1) * length):
                    s['bad'] = 'seal epoch does not match its time at n=%d' % chk['n']
                    continue
            elif k0 and 'seal' not in chk:
                s['bad'] = 'checkpoint not sealed at n=%d' % chk['n']
                continue
            s['chk'] = chk
            if 'end' in obj:
                s['end'] = True
    out = {}
    for sid, s in st.items():
        out[sid] = s['bad'] or ('ok' if s['end'] else 'ok-live')
    return out


def main(argv):
    vkey = None
    if argv[:1] == ['--key']:
        with open(argv[1]) as f:
            vkey = f.read()
        argv = argv[2:]
    res = verify(argv, vkey)
    for sid in sorted(res):
        print(sid, res[sid])
    return 0 if all(v.startswith('ok') for v in res.values()) else 1


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
