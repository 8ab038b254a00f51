"""Readers for what sessrec writes: day-shard lines (raw wins over d) and
RFC 5424 syslog lines with their SD params unescaped (RFC 5424 6.3.3)."""
import base64
import json
import os
import re

SHARD_LINE_MAX = 4096

_HDR = re.compile(r'^<(\d{1,3})>1 (\S+) (\S+) (\S+) (\S+) (\S+) ')
_TS = re.compile(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?(Z|[+-]\d\d:\d\d)$')


def _parse_sd(line, i):
    """Parses SD-ELEMENTs from line[i:]; returns (dict, index after) or None."""
    sd = {}
    while line.startswith('[', i):
        k = i + 1
        while k < len(line) and line[k] not in ' ]':
            k += 1
        sdid = line[i + 1:k]
        params = {}
        i = k
        while i < len(line) and line[i] == ' ':
            k = line.find('="', i + 1)
            if k < 0:
                return None
            name = line[i + 1:k]
            i = k + 2
            val = []
            while i < len(line) and line[i] != '"':
                if line[i] == '\\' and i + 1 < len(line) and line[i + 1] in '"\\]':
                    val.append(line[i + 1])
                    i += 2
                else:
                    val.append(line[i])
                    i += 1
            if i >= len(line):
                return None
            params[name] = ''.join(val)
            i += 1
        if i >= len(line) or line[i] != ']':
            return None
        sd[sdid] = params
        i += 1
    return sd, i


def parse_sd(text):
    """STRUCTURED-DATA as text ("-" or "[id k=\"v\"]...") -> dict, None if invalid."""
    if text == '-':
        return {}
    r = _parse_sd(text, 0)
    if not r or r[1] != len(text):
        return None
    return r[0]


def parse_rfc5424(line):
    """dict(pri, ts, host, app, procid, msgid, sd={sdid: {name: value}}, msg)
    or None when the line is not RFC 5424. SD values are unescaped (§6.3.3)."""
    m = _HDR.match(line)
    if not m or not _TS.match(m.group(2)):
        return None
    rec = dict(pri=int(m.group(1)), ts=m.group(2), host=m.group(3), app=m.group(4),
               procid=m.group(5), msgid=m.group(6), sd={}, msg='')
    i = m.end()
    if line.startswith('-', i):
        i += 1
    else:
        r = _parse_sd(line, i)
        if not r or not r[0]:
            return None
        rec['sd'], i = r
    if i < len(line):
        if line[i] != ' ':
            return None
        rec['msg'] = line[i + 1:]
    return rec


def events(text, msgid=None, sid=None):
    """RFC 5424 event records in text (one per line), filtered."""
    out = []
    for line in text.splitlines():
        r = parse_rfc5424(line.strip('\r'))
        if not r:
            continue
        if msgid and r['msgid'] != msgid:
            continue
        if sid and r['sd'].get('relay@55555', {}).get('sid') != sid:
            continue
        out.append(r)
    return out


def shard_lines(shard_dir):
    """Every line of every shard as (raw bytes, obj or None); the day's
    auth-YYYY-MM-DD.jsonl beside them is no session's and is left out."""
    out = []
    if not os.path.isdir(shard_dir):
        return out
    for f in sorted(os.listdir(shard_dir)):
        if not f.endswith('.jsonl') or f.startswith('auth-'):
            continue
        with open(os.path.join(shard_dir, f), 'rb') as fh:
            for raw in fh:
                try:
                    obj = json.loads(raw)
                except ValueError:
                    obj = None
                out.append((raw, obj))
    return out


def event_bytes(obj):
    """The exact bytes one event line stands for (raw wins over d; with
    "x1b":"\u241b", every U+241B of d is the byte ESC)."""
    if 'raw' in obj:
        return base64.b64decode(obj['raw'])
    d = obj.get('d', '')
    if 'x1b' in obj:
        if obj['x1b'] != '\u241b':
            raise ValueError('x1b is %r, not U+241B: not an event line' % obj['x1b'])
        d = d.replace('\u241b', '\x1b')
    return d.encode('utf-8')


def session_lines(lines, sid):
    return [o for _, o in lines if o and o.get('sid') == sid]


def channel_bytes(lines, sid, ch='o'):
    return b''.join(event_bytes(o) for o in session_lines(lines, sid) if o.get('ch') == ch)


def check_shard_sane(tc, lines):
    """What every reader relies on: each line valid JSON, shorter than 4096
    bytes, newline-terminated, carrying a sid."""
    tc.assertTrue(lines, 'no shard lines at all')
    for raw, obj in lines:
        tc.assertIsNotNone(obj, 'shard line is not JSON: %r' % raw[:200])
        tc.assertLess(len(raw), SHARD_LINE_MAX, 'shard line of %d bytes' % len(raw))
        tc.assertTrue(raw.endswith(b'\n'), 'shard line without newline: %r' % raw[-80:])
        tc.assertIsInstance(obj.get('sid'), str, 'shard line without sid: %r' % raw[:200])


def sids_with_output(lines, needle, ch='o'):
    """The sids whose recorded channel ch contains needle."""
    found = []
    for o in (o for _, o in lines if o and 'hdr' in o):
        if needle in channel_bytes(lines, o['sid'], ch):
            found.append(o['sid'])
    return found
