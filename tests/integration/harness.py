"""Shared helpers for the integration tests: the built binaries, a private
sessrecd on temporary paths, a pty driver that plays sshd's part, shard and
RFC 5424 readers, the wire protocol spoken by hand, fd counting, a private
mount namespace, and a reaper so that every process started is waited for
(PID 1 here does not reap orphans). Python 3 stdlib only."""
import atexit
import base64
import fcntl
import json
import os
import pwd
import re
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import termios
import time

BUILD = os.environ.get('SESSREC_BUILD', '')
SRC = os.environ.get('SESSREC_SRC', os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
PROTO_MSG_MAX = 4096
SHARD_LINE_MAX = 4096
TEST_USER = 'sessrec-it'
try:
    import grp
    TTY_GID = grp.getgrnam('tty').gr_gid
except (ImportError, KeyError):
    TTY_GID = 5

# --------------------------------------------------------------------------
# Reaper: every pid we start is registered and waited for at exit.

_pids = {}          # pid -> description


def register(pid, what=''):
    _pids[pid] = what
    return pid


def descendants(pid):
    """Every live process below pid (by PPid), deepest first."""
    kids = {}
    for d in os.listdir('/proc'):
        if not d.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % d, 'rb') as f:
                st = f.read()
            ppid = int(st[st.rindex(b')') + 2:].split()[1])
        except (OSError, ValueError):
            continue
        kids.setdefault(ppid, []).append(int(d))
    out = []

    def walk(p):
        for c in kids.get(p, []):
            walk(c)
            out.append(c)
    walk(pid)
    return out


def alive(pid):
    try:
        with open('/proc/%d/stat' % pid, 'rb') as f:
            st = f.read()
        return st[st.rindex(b')') + 2:st.rindex(b')') + 3] != b'Z'
    except OSError:
        return False


def reap(pid, timeout=5.0):
    """Waits for our child pid (SIGTERM, then SIGKILL, to it and what it
    started, if it does not end by itself). Returns the exit code or None."""
    end = time.time() + timeout
    sent = 0
    while True:
        try:
            p, st = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            _pids.pop(pid, None)
            return None
        if p:
            _pids.pop(pid, None)
            return os.waitstatus_to_exitcode(st)
        if time.time() > end:
            sig = signal.SIGTERM if sent == 0 else signal.SIGKILL
            for q in descendants(pid) + [pid]:
                try:
                    os.kill(q, sig)
                except OSError:
                    pass
            sent += 1
            end = time.time() + 2
        time.sleep(0.02)


def _become_subreaper():
    """Orphans of what we start (a shell whose shim died first, a daemon's
    helper) come back to us instead of to a PID 1 that never reaps."""
    import ctypes
    try:
        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        pass


_become_subreaper()


@atexit.register
def _reap_all():
    for pid in list(_pids):
        reap(pid, 0)
    end = time.time() + 3
    while True:
        try:
            p, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if p:
            continue
        if time.time() > end:
            for q in descendants(os.getpid()):
                try:
                    os.kill(q, signal.SIGKILL)
                except OSError:
                    pass
            end = time.time() + 3
        time.sleep(0.02)


# --------------------------------------------------------------------------
# Binaries

def binary(name):
    if not BUILD:
        raise RuntimeError('SESSREC_BUILD is not set (run through ctest)')
    for sub in ('sessrecd', 'pam_sessrec', 'sessrecctl', ''):
        p = os.path.join(BUILD, sub, name)
        if os.path.isfile(p) and os.access(p, os.X_OK):
            return p
    for d, _, files in os.walk(BUILD):
        if name in files and os.access(os.path.join(d, name), os.X_OK):
            return os.path.join(d, name)
    raise RuntimeError('no %s in %s' % (name, BUILD))


def tmpdir(prefix='srit-'):
    d = tempfile.mkdtemp(prefix=prefix, dir='/tmp')
    os.chmod(d, 0o755)  # other uids must reach sockets inside
    return d


def test_user():
    """A system user for the wrong-uid checks, created once if missing."""
    try:
        pw = pwd.getpwnam(TEST_USER)
    except KeyError:
        r = subprocess.run(['useradd', '-r', '-M', '-d', '/nonexistent', '-s', '/bin/bash', TEST_USER],
                           capture_output=True, text=True)
        if r.returncode not in (0, 9):  # 9: it appeared meanwhile
            raise RuntimeError('useradd: ' + r.stderr)
        pw = pwd.getpwnam(TEST_USER)
    if pw.pw_shell != '/bin/bash':
        subprocess.run(['usermod', '-s', '/bin/bash', TEST_USER], check=True, capture_output=True)
        pw = pwd.getpwnam(TEST_USER)
    return pw


# --------------------------------------------------------------------------
# The wire protocol, spoken by hand

def connect(path, timeout=5.0):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    try:
        s.settimeout(timeout)
        s.connect(path)
    except BaseException:
        s.close()
        raise
    return s


def send_raw(s, data, fds=()):
    if fds:
        return socket.send_fds(s, [data], list(fds))
    return s.send(data)


def recv_reply(s, timeout=5.0):
    """One reply as a dict; raises on timeout or if the peer closed."""
    s.settimeout(timeout)
    data = s.recv(65536)
    if not data:
        raise ConnectionError('daemon closed the connection without a reply')
    return json.loads(data)


def peer_closed(s, timeout=3.0):
    """True once the daemon has closed its end (EOF within timeout)."""
    s.settimeout(timeout)
    try:
        return s.recv(65536) == b''
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def call(path, req, fds=(), timeout=5.0):
    with connect(path, timeout) as s:
        send_raw(s, json.dumps(req).encode(), fds)
        return recv_reply(s, timeout)


def audit_session():
    try:
        with open('/proc/self/sessionid') as f:
            return int(f.read())
    except (OSError, ValueError):
        return None


def open_session(path, user='root', uid=0, pid=None, service='sshd', proto='ssh',
                 tty=None, rhost='127.0.0.1', rport=50022, **extra):
    """`open` as pam_sessrec sends it; the reply as a dict."""
    req = {'op': 'open', 'user': user, 'uid': uid, 'service': service, 'proto': proto,
           'rhost': rhost, 'rport': rport, 'pid': os.getpid() if pid is None else pid,
           'input': True}
    sess = audit_session()
    if sess is not None:
        req['sessionid'] = sess
    if tty:
        req['tty'] = tty
    req.update(extra)
    return call(path, req)


def close_session(path, sid, timeout=30.0):
    return call(path, {'op': 'close', 'sid': sid}, timeout=timeout)


# --------------------------------------------------------------------------
# RFC 5424

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


# --------------------------------------------------------------------------
# Shards

def shard_lines(shard_dir):
    """Every line of every shard as (raw bytes, obj or None)."""
    out = []
    if not os.path.isdir(shard_dir):
        return out
    for f in sorted(os.listdir(shard_dir)):
        if not f.endswith('.jsonl'):
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
    """The exact bytes one event line stands for (raw wins over d)."""
    if 'raw' in obj:
        return base64.b64decode(obj['raw'])
    return obj.get('d', '').encode('utf-8')


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


# --------------------------------------------------------------------------
# fds of a process

def fd_targets(pid):
    out = {}
    d = '/proc/%d/fd' % pid
    for n in os.listdir(d):
        try:
            out[int(n)] = os.readlink(os.path.join(d, n))
        except OSError:
            pass
    return out


def fd_count(pid):
    return len(os.listdir('/proc/%d/fd' % pid))


def fd_flags(pid, fd):
    with open('/proc/%d/fdinfo/%d' % (pid, fd)) as f:
        for line in f:
            if line.startswith('flags:'):
                return int(line.split()[1], 8)
    return None


# --------------------------------------------------------------------------
# A private sessrecd

def write_config(path, sections):
    with open(path, 'w') as f:
        for sec, kv in sections.items():
            f.write('[%s]\n' % sec)
            for k, v in kv.items():
                f.write('%s=%s\n' % (k, v))
            f.write('\n')


class Daemon:
    """sessrecd on temporary paths, --foreground, events to stdout (captured
    in a file). conf: {section: {key: value}}. flags=False leaves the socket,
    shard directory and syslog targets to the configuration file."""

    def __init__(self, conf=None, syslog='stdout', flags=True, argv_prefix=None, socket_flag=True,
                 env=None, start=True):
        self.tmp = tmpdir()
        self.sock = os.path.join(self.tmp, 's.sock')
        self.shards = os.path.join(self.tmp, 'shards')
        self.state = os.path.join(self.tmp, 'state')
        self.conf_path = os.path.join(self.tmp, 'd.conf')
        self.conf = {'Daemon': {'StateDirectory': self.state}}
        for sec, kv in (conf or {}).items():
            self.conf.setdefault(sec, {}).update(kv)
        write_config(self.conf_path, self.conf)
        self.out_path = os.path.join(self.tmp, 'daemon.out')
        self.bin = binary('sessrecd')
        argv = [self.bin, '--foreground', '--config', self.conf_path]
        if flags:
            if socket_flag:
                argv += ['--socket', self.sock]
            argv += ['--shard-dir', self.shards]
            if syslog:
                argv += ['--syslog', syslog]
        self.argv = (argv_prefix or []) + argv
        self.env = env
        self.p = None
        if start:
            self.start()

    def start(self, wait=True):
        out = open(self.out_path, 'ab')
        self.p = subprocess.Popen(self.argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                  env=self.env)
        out.close()
        register(self.p.pid, 'sessrecd')
        if wait:
            self.wait_ready()

    def wait_ready(self, timeout=10.0):
        end = time.time() + timeout
        last = None
        while time.time() < end:
            if self.p.poll() is not None:
                raise RuntimeError('sessrecd exited with %s: %s' % (self.p.returncode, self.output()[-800:]))
            try:
                r = call(self.sock, {'op': 'ping'}, timeout=2)
                if r.get('ok'):
                    return r
                last = r
            except (OSError, ValueError) as e:
                last = e
            time.sleep(0.05)
        raise RuntimeError('sessrecd not answering ping on %s (%s): %s' % (self.sock, last, self.output()[-800:]))

    @property
    def pid(self):
        return self.p.pid

    def output(self):
        with open(self.out_path, 'rb') as f:
            return f.read().decode('utf-8', 'replace')

    def events(self, msgid=None, sid=None):
        return events(self.output(), msgid, sid)

    def wait_event(self, msgid, sid=None, timeout=5.0, count=1):
        end = time.time() + timeout
        while True:
            ev = self.events(msgid, sid)
            if len(ev) >= count or time.time() > end:
                return ev
            time.sleep(0.05)

    def lines(self):
        return shard_lines(self.shards)

    def wait_end(self, sid, timeout=10.0):
        """The session's end line, once written (None after timeout)."""
        end = time.time() + timeout
        while True:
            for o in session_lines(self.lines(), sid):
                if 'end' in o:
                    return o
            if time.time() > end:
                return None
            time.sleep(0.05)

    def reconfigure(self, sections):
        for sec, kv in sections.items():
            self.conf.setdefault(sec, {}).update(kv)
        write_config(self.conf_path, self.conf)

    def running(self):
        return self.p is not None and self.p.poll() is None

    def stop(self, timeout=10.0):
        """SIGTERM and wait; returns the exit code."""
        if self.p is None:
            return None
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        _pids.pop(self.p.pid, None)
        return self.p.returncode

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)


# --------------------------------------------------------------------------
# Terminals

class Pty:
    """argv run as session leader on a fresh pty whose master we hold, like
    sshd does for a login; everything printed is kept in self.out."""

    def __init__(self, argv, env=None, rows=24, cols=80, uid=None, gid=None, cwd=None, exe=None):
        self.master, slave = os.openpty()
        self.slave_name = os.ttyname(slave)
        if uid is not None:
            # as sshd does: the login's terminal belongs to the user
            os.fchown(slave, uid, TTY_GID)
            os.fchmod(slave, 0o620)
        self.resize(rows, cols)
        self.out = b''
        self.pos = 0
        self.status = None
        self.closed = False
        pid = os.fork()
        if pid == 0:  # child: no Python cleanup may run here
            try:
                os.close(self.master)
                os.setsid()
                fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
                for fd in (0, 1, 2):
                    os.dup2(slave, fd)
                if slave > 2:
                    os.close(slave)
                os.closerange(3, 65536)
                if gid is not None:
                    os.setgroups([])
                    os.setgid(gid)
                if uid is not None:
                    os.setuid(uid)
                if cwd:
                    os.chdir(cwd)
                for s in range(1, signal.NSIG):
                    try:
                        if s not in (signal.SIGKILL, signal.SIGSTOP):
                            signal.signal(s, signal.SIG_DFL)
                    except (OSError, ValueError):
                        pass
                e = env if env is not None else os.environ
                if exe:
                    os.execve(exe, argv, e)
                os.execvpe(argv[0], argv, e)
            except BaseException as e:
                os.write(2, ('exec %s: %s\n' % (argv[0], e)).encode())
            os._exit(127)
        os.close(slave)
        self.pid = register(pid, argv[0])

    def resize(self, rows, cols):
        fcntl.ioctl(self.master, termios.TIOCSWINSZ, struct.pack('HHHH', rows, cols, 0, 0))

    def pump(self, timeout):
        """Reads what is there within timeout; False once the pty is gone."""
        if self.closed:
            return False
        r, _, _ = select.select([self.master], [], [], max(0, timeout))
        if not r:
            return True
        try:
            d = os.read(self.master, 65536)
        except OSError:
            d = b''
        if not d:
            self.closed = True
            return False
        self.out += d
        return True

    def expect(self, pat, timeout=10.0):
        """Waits for pat (regex, bytes or str) after the last match; returns
        the match, or fails with what the terminal showed."""
        rx = re.compile(pat.encode() if isinstance(pat, str) else pat)
        end = time.time() + timeout
        while True:
            m = rx.search(self.out, self.pos)
            if m:
                self.pos = m.end()
                return m
            now = time.time()
            if now > end or not self.pump(min(0.1, end - now)):
                m = rx.search(self.out, self.pos)
                if m:
                    self.pos = m.end()
                    return m
                raise AssertionError('terminal never showed %r; it showed (tail): %r'
                                     % (pat, self.out[max(self.pos - 200, 0):][-1500:]))

    def since(self):
        """What arrived after the last match."""
        return self.out[self.pos:]

    def send(self, s):
        os.write(self.master, s.encode() if isinstance(s, str) else s)

    def hangup(self):
        """The client goes away: sshd closes the pty master."""
        if not self.closed:
            self.closed = True
        try:
            os.close(self.master)
        except OSError:
            pass
        self.master = -1

    def poll(self):
        if self.status is not None:
            return self.status
        p, st = os.waitpid(self.pid, os.WNOHANG)
        if p:
            self.status = os.waitstatus_to_exitcode(st)
            _pids.pop(self.pid, None)
        return self.status

    def wait(self, timeout=15.0):
        """Exit code once the process is gone and the pty drained (None on
        timeout: the process is left running)."""
        end = time.time() + timeout
        while time.time() < end:
            if self.master >= 0 and not self.closed:
                self.pump(0.05)
            else:
                time.sleep(0.02)
            if self.poll() is not None:
                drain = time.time() + 2
                while self.master >= 0 and not self.closed and time.time() < drain:
                    self.pump(0.05)
                return self.status
        return None

    def finish(self):
        """Ends whatever is left (hangup, then signals) and waits."""
        if self.master >= 0:
            self.hangup()
        if self.status is None:
            self.status = reap(self.pid, 3)


def pump_all(ptys, until, timeout):
    """Reads every pty until until() holds or timeout; True if it held."""
    end = time.time() + timeout
    while time.time() < end:
        if until():
            return True
        live = {p.master: p for p in ptys if p.master >= 0 and not p.closed}
        if live:
            r, _, _ = select.select(list(live), [], [], 0.05)
            for fd in r:
                p = live[fd]
                try:
                    d = os.read(fd, 65536)
                except OSError:
                    d = b''
                if d:
                    p.out += d
                else:
                    p.closed = True
        else:
            time.sleep(0.02)
        for p in ptys:
            p.poll()
    return until()


def shell_env(home, sock, token=None, sid=None, fail=None, quiet=False, extra=None, user='root'):
    """The environment sshd and pam_sessrec give the shim."""
    env = {'PATH': '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
           'HOME': home, 'TERM': 'xterm', 'LANG': 'C.UTF-8', 'USER': user, 'LOGNAME': user,
           'SESSREC_SOCKET': sock}
    if token:
        env['SESSREC_TOKEN'] = token
    if sid:
        env['SESSREC_SID'] = sid
    if fail:
        env['SESSREC_FAIL'] = fail
    if quiet:
        env['SESSREC_QUIET'] = '1'
    env.update(extra or {})
    return env


PROMPT = 'SRP> '
PROMPT_RX = re.escape(PROMPT.encode())


def make_home(base, name='home'):
    """A HOME whose login profile gives bash a known prompt and no history."""
    home = os.path.join(base, name)
    os.makedirs(home, exist_ok=True)
    os.chmod(home, 0o755)
    with open(os.path.join(home, '.bash_profile'), 'w') as f:
        f.write("PS1='%s'\nunset PROMPT_COMMAND\nHISTFILE=/dev/null\nbind 'set enable-bracketed-paste off' 2>/dev/null\n" % PROMPT)
    return home


# --------------------------------------------------------------------------
# Private mount namespace

def in_private_mount_ns():
    """Re-runs the calling script inside `unshare --mount --propagation
    private` (once) and exits with its status; returns inside the namespace."""
    if os.environ.get('SESSREC_IN_MOUNT_NS') == '1':
        return
    env = dict(os.environ, SESSREC_IN_MOUNT_NS='1')
    p = subprocess.Popen(['unshare', '--mount', '--propagation', 'private', sys.executable,
                          os.path.abspath(sys.argv[0])] + sys.argv[1:], env=env)
    register(p.pid, 'unshare')
    try:
        rc = p.wait()
    except KeyboardInterrupt:
        p.terminate()
        rc = p.wait()
    _pids.pop(p.pid, None)
    sys.exit(rc)


def mount_tmpfs(path, mode='0755'):
    os.makedirs(path, exist_ok=True)
    subprocess.run(['mount', '-t', 'tmpfs', '-o', 'mode=' + mode, 'tmpfs', path], check=True)


def wait_for(pred, timeout=5.0, step=0.05):
    end = time.time() + timeout
    while True:
        v = pred()
        if v or time.time() > end:
            return v
        time.sleep(step)


# --------------------------------------------------------------------------
# sessrecctl record

def ctl_env(extra=None):
    env = {'PATH': '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
           'HOME': '/root', 'TERM': 'xterm', 'LANG': 'C.UTF-8'}
    env.update(extra or {})
    return env


def record(sock, script, rows=24, cols=80, env=None):
    """`sessrecctl record -- sh -c SCRIPT` on its own fresh pty."""
    return Pty([binary('sessrecctl'), 'record', '--socket', sock, '--', '/bin/sh', '-c', script],
               env=env or ctl_env(), rows=rows, cols=cols)


def sids_with_output(lines, needle, ch='o'):
    """The sids whose recorded channel ch contains needle."""
    found = []
    for o in (o for _, o in lines if o and 'hdr' in o):
        if needle in channel_bytes(lines, o['sid'], ch):
            found.append(o['sid'])
    return found


def read_text(path):
    """The file's text, or None if it does not exist (yet)."""
    try:
        with open(path, errors='replace') as f:
            return f.read()
    except OSError:
        return None
