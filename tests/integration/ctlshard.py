"""Helpers for the sessrecctl tests and bench: writes day shards byte for
byte in the format common/shardline.c writes (sessrec-shards(5)), finds
the built programs (for the bench), and gives programs a pty or a tmux pane.
Stdlib only."""
import base64
import json
import os
import pty
import shutil
import subprocess
import sys
import time
import uuid

SRC = os.environ.get('SESSREC_SRC', os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
BUILD = os.environ.get('SESSREC_BUILD', '')

X1B = '\u241b'.encode()  # the ESC stand-in of shardx1b.c
X1B_MEMBER = b'"x1b":"' + X1B + b'",'
_ESC = {0x22: b'\\"', 0x5c: b'\\\\', 0x08: b'\\b', 0x09: b'\\t', 0x0a: b'\\n', 0x0c: b'\\f', 0x0d: b'\\r'}


def utf8_seq(b, i):
    """As utf8_seq in common/utf8.c: the length of the valid character at
    b[i], 0 for a valid but incomplete start, -k for an invalid maximal
    subpart of k bytes."""
    c = b[i]
    if c < 0x80:
        return 1
    if c < 0xc2 or c > 0xf4:
        return -1
    need = 2 if c < 0xe0 else 3 if c < 0xf0 else 4
    lo, hi = {0xe0: (0xa0, 0xbf), 0xed: (0x80, 0x9f), 0xf0: (0x90, 0xbf), 0xf4: (0x80, 0x8f)}.get(c, (0x80, 0xbf))
    for k in range(1, need):
        if i + k >= len(b):
            return 0
        if not lo <= b[i + k] <= hi:
            return -k
        lo, hi = 0x80, 0xbf
    return need


def json_escape(data, stand_in=False):
    """The body of the JSON string shard_json_escape writes for data, and
    whether data was valid UTF-8 (else the line carries "raw"). stand_in:
    ESC as U+241B, as in a line with the "x1b" member."""
    out = bytearray()
    valid = True
    i = 0
    while i < len(data):
        c = data[i]
        if c < 0x80:
            if c == 0x1b and stand_in:
                out += X1B
            elif c in _ESC:
                out += _ESC[c]
            elif c < 0x20 or c == 0x7f:
                out += b'\\u%04x' % c
            else:
                out.append(c)
            i += 1
            continue
        k = utf8_seq(data, i)
        if k > 0:
            out += data[i:i + k]
            i += k
            continue
        valid = False
        out += '\ufffd'.encode()
        i += -k if k < 0 else len(data) - i
    return bytes(out), valid


def fmt_t(t):
    return b'%.6f' % t


class ShardWriter:
    """Appends lines to DIR/sessions-YYYY-MM-DD.jsonl (the UTC day of ts)."""

    def __init__(self, directory, ts=None, gz=False):
        self.dir = directory
        os.makedirs(directory, exist_ok=True)
        self.ts = int(ts if ts is not None else time.time())
        day = time.strftime('%Y-%m-%d', time.gmtime(self.ts))
        self.path = os.path.join(directory, 'sessions-%s.jsonl' % day)
        self.gz = gz
        self.f = open(self.path, 'ab', buffering=1 << 20)
        self.carry = {}  # (sid, ch) -> an incomplete UTF-8 character, as the writer keeps it

    def write(self, line):
        self.f.write(line)

    def close(self):
        self.f.close()
        if self.gz:
            subprocess.run(['gzip', '-f', self.path], check=True)
            self.path += '.gz'

    # lines -------------------------------------------------------------
    def hdr(self, sid, ts=None, width=80, height=24, user='alice', uid=1000, service='sshd', proto='ssh',
            src_ip='192.0.2.10', src_port=50022, tty='/dev/pts/3', host='web1', auth=None, cmd=None,
            pid=4242, inp=True, start=None):
        ts = self.ts if ts is None else ts
        meta = [('user', user), ('uid', uid), ('service', service), ('proto', proto), ('src_ip', src_ip),
                ('src_port', src_port), ('tty', tty), ('host', host), ('auth', auth),
                ('start', start or time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(int(ts))) +
                 '.%06dZ' % int(round((ts - int(ts)) * 1e6))), ('cmd', cmd), ('pid', pid)]
        m = ','.join('"%s":%s' % (k, json.dumps(v, ensure_ascii=False, separators=(',', ':')))
                     for k, v in meta if v is not None)
        line = ('{"sid":"%s","hdr":{"version":2,"width":%d,"height":%d,"timestamp":%d,'
                '"env":{"SHELL":"/bin/bash","TERM":"xterm-256color"}},"meta":{%s,"input":%s}}\n'
                % (sid, width, height, int(ts), m, 'true' if inp else 'false'))
        self.write(line.encode())

    def event(self, sid, t, ch, data, chunk=1000, flush=False):
        """data (bytes) as one or more event lines, never cutting a character;
        an incomplete character at the end waits for the channel's next event."""
        data = self.carry.pop((sid, ch), b'') + data
        for j in range(max(0, len(data) - 3), len(data)):
            if not flush and data[j] >= 0xc0 and utf8_seq(data, j) == 0:
                self.carry[(sid, ch)] = data[j:]
                data = data[:j]
                if not data:
                    return
                break
        i = 0
        while i < len(data) or (i == 0 and not data):
            j = min(len(data), i + chunk)
            while j < len(data) and j > i + 1 and (data[j] & 0xc0) == 0x80:
                j -= 1
            part = data[i:j]
            body, valid = json_escape(part)
            x1b = b''
            # the stand-in where it makes the line shorter and d has no real one
            if part.count(b'\x1b') * 3 > len(X1B_MEMBER) and X1B not in body:
                body, x1b = json_escape(part, True)[0], X1B_MEMBER
            line = b'{"sid":"%s","t":%s,"ch":"%s",%s"d":"%s"' % (sid.encode(), fmt_t(t), ch.encode(), x1b, body)
            if not valid:
                line += b',"raw":"%s"' % base64.b64encode(part)
            self.write(line + b'}\n')
            i = j
            if not data:
                break

    def resize(self, sid, t, cols, rows):
        self.write(b'{"sid":"%s","t":%s,"ch":"r","d":"%dx%d"}\n' % (sid.encode(), fmt_t(t), cols, rows))

    def marker(self, sid, t, text):
        body, _ = json_escape(text.encode())
        self.write(b'{"sid":"%s","t":%s,"ch":"m","d":"%s"}\n' % (sid.encode(), fmt_t(t), body))

    def trunc(self, sid):
        self.write(b'{"sid":"%s","trunc":true}\n' % sid.encode())

    def exec_(self, sid, t, pid, argv, ppid=1, uid=1000, cwd='/home/alice'):
        self.write(('{"sid":"%s","t":%s,"exec":{"pid":%d,"ppid":%d,"uid":%d,"argv":%s,"cwd":%s}}\n'
                    % (sid, fmt_t(t).decode(), pid, ppid, uid, json.dumps(argv), json.dumps(cwd))).encode())

    def exit_(self, sid, t, pid, code=0, signal=None, dur=0.004):
        self.write(('{"sid":"%s","t":%s,"exit":{"pid":%d,"code":%s,"signal":%s,"dur":%s}}\n'
                    % (sid, fmt_t(t).decode(), pid, json.dumps(code), json.dumps(signal), dur)).encode())

    def end(self, sid, duration, bytes_out=0, bytes_in=0, recorded=0, withheld=0, resizes=0,
            truncated=False, reason='exit', end=None):
        for (s, ch) in [k for k in self.carry if k[0] == sid]:
            self.event(sid, duration, ch, b'', flush=True)
        end = end or time.strftime('%Y-%m-%dT%H:%M:%S.000000Z', time.gmtime(self.ts + int(duration)))
        self.write(('{"sid":"%s","end":{"duration":%s,"bytes_out":%d,"bytes_in":%d,"bytes_recorded":%d,'
                    '"withheld":%d,"resizes":%d,"truncated":%s,"reason":"%s","end":"%s"}}\n'
                    % (sid, fmt_t(duration).decode(), bytes_out, bytes_in, recorded, withheld, resizes,
                       'true' if truncated else 'false', reason, end)).encode())

    def session(self, sid=None, ts=None, out=(), inp=(), end=True, **meta):
        """A whole session: out/inp are lists of (t, bytes). Returns its sid."""
        sid = sid or str(uuid.uuid4())
        self.hdr(sid, ts=ts, **meta)
        evs = sorted([(t, 'o', d) for t, d in out] + [(t, 'i', d) for t, d in inp], key=lambda e: e[0])
        for t, ch, d in evs:
            self.event(sid, t, ch, d)
        if end:
            last = evs[-1][0] if evs else 0.0
            self.end(sid, last + 0.5, bytes_out=sum(len(d) for _, d in out),
                     bytes_in=sum(len(d) for _, d in inp))
        return sid


def new_sid():
    return str(uuid.uuid4())


# finding and running programs -------------------------------------------
def find_bin(name):
    for d, _, files in os.walk(BUILD):
        if name in files and os.access(os.path.join(d, name), os.X_OK):
            return os.path.join(d, name)
    raise SystemExit('no %s under SESSREC_BUILD=%s' % (name, BUILD))


def asciinema_cat(cast):
    """`asciinema cat` opens /dev/tty: give it a pty as controlling terminal
    and its stdout on a pipe, which no tty rewrites."""
    r, w = os.pipe()
    pid, fd = pty.fork()
    if pid == 0:
        os.dup2(w, 1)
        os.close(r)
        os.environ['PYTHONIOENCODING'] = 'utf-8'
        os.execvp('asciinema', ['asciinema', 'cat', cast])
    os.close(w)
    out = b''
    while True:
        d = os.read(r, 65536)
        if not d:
            break
        out += d
    os.close(r)
    _, st = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(st), out


def run_on_pty(argv, timeout=30):
    """Runs argv with a pty as its terminal; returns (status, everything printed)."""
    import select
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(argv[0], argv)
    out = b''
    end = time.time() + timeout
    status = None
    while time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try:
                d = os.read(fd, 65536)
            except OSError:
                d = b''
            out += d
            if not d:
                break
    _, st = os.waitpid(pid, 0)
    os.close(fd)
    status = os.waitstatus_to_exitcode(st)
    return status, out


class Tmux:
    """A private tmux server (-L NAME) with one 80x24 session."""

    def __init__(self, name, cmd, width=80, height=24, env=None):
        self.name = name
        self.base = ['tmux', '-L', name, '-f', '/dev/null']
        e = dict(os.environ)
        e.pop('TMUX', None)
        e.update(env or {})
        self.env = e
        subprocess.run(self.base + ['new-session', '-d', '-x', str(width), '-y', str(height), '-s', 't', cmd],
                       check=True, env=e)
        subprocess.run(self.base + ['set-option', '-g', 'remain-on-exit', 'on'], env=e)

    def keys(self, *keys):
        subprocess.run(self.base + ['send-keys', '-t', 't', *keys], check=True, env=self.env)

    def screen(self):
        return subprocess.run(self.base + ['capture-pane', '-p', '-t', 't'], capture_output=True,
                              env=self.env).stdout.decode(errors='replace')

    def wait_for(self, text, timeout=15):
        end = time.time() + timeout
        while time.time() < end:
            if text in self.screen():
                return True
            time.sleep(0.05)
        return False

    def kill(self):
        subprocess.run(self.base + ['kill-server'], env=self.env, stderr=subprocess.DEVNULL)


def check(checks, name, ok, detail=''):
    checks.append((name, bool(ok)))
    print('%s %s%s' % ('ok  ' if ok else 'FAIL', name, (': ' + detail) if (detail and not ok) else ''))
    sys.stdout.flush()


def finish(checks):
    bad = [n for n, ok in checks if not ok]
    print('%d/%d checks hold' % (len(checks) - len(bad), len(checks)))
    sys.exit(1 if bad else 0)
