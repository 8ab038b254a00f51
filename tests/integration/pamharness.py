"""What the pam_sessrec integration tests share beyond harness.py: test
users with keys, passwords and known prompts; a private sshd (own config,
host key, 127.0.0.1 and a free port) and telnetd (one per connection, by
systemd-socket-activate) whose PAM stacks are test copies bind-mounted over
/etc/pam.d/sshd and /etc/pam.d/login; a syslog socket collecting what the
module emits; the steps and checks the sshd and telnet tests both make.
System files are only ever covered by bind mounts, inside the private mount
namespace harness.in_private_mount_ns() enters. Python 3 stdlib only."""
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import time

import harness as h

SSHD = '/usr/sbin/sshd'
TELNETD = '/usr/sbin/telnetd'
PASSWORD = 'Sr-test-pw-7319'
PROMPT = h.PROMPT
CLIENT_ENV = {'PATH': '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
              'HOME': '/root', 'TERM': 'xterm', 'LANG': 'C.UTF-8'}


def module():
    """The built pam_sessrec.so: PAM takes an absolute path on the line."""
    p = os.path.join(h.BUILD, 'pam_sessrec', 'pam_sessrec.so')
    if not os.path.isfile(p):
        raise RuntimeError('no pam_sessrec.so in ' + h.BUILD)
    return p


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def wait_port(port, proc=None, timeout=10.0):
    end = time.time() + timeout
    while time.time() < end:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError('server exited with %s' % proc.returncode)
        try:
            with socket.create_connection(('127.0.0.1', port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError('nothing listens on 127.0.0.1:%d' % port)


def _stop(proc):
    """Ends a server we started (SIGTERM, then SIGKILL) and waits for it."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    h._pids.pop(proc.pid, None)


def tear_down(server, d, tmp):
    """What a setUpModule made, as far as it got: the server (Sshd,
    Telnetd), the daemon, the temp dir."""
    if server:
        server.stop()
    if d:
        d.cleanup()
    if tmp:
        shutil.rmtree(tmp, ignore_errors=True)


def bind_over(src, dst):
    """Covers dst with src, in the private mount namespace only."""
    if os.environ.get('SESSREC_IN_MOUNT_NS') != '1':
        raise RuntimeError('refusing to bind over %s outside a private mount namespace' % dst)
    subprocess.run(['mount', '--bind', src, dst], check=True)


# --------------------------------------------------------------------------
# Users

class Keys:
    """A client key pair and a host key, made once per test run."""

    def __init__(self, tmp):
        self.dir = os.path.join(tmp, 'keys')
        os.makedirs(self.dir, exist_ok=True)
        self.client = os.path.join(self.dir, 'client')
        self.host = os.path.join(self.dir, 'host')
        for k in (self.client, self.host):
            if not os.path.exists(k):
                subprocess.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'sessrec-test', '-f', k],
                               check=True)
        with open(self.client + '.pub') as f:
            kind, blob = f.read().split()[:2]
        self.pub = '%s %s' % (kind, blob)
        # sshd reads AuthorizedKeysFile as the user: a world-readable
        # directory under a 0755 tmpdir (StrictModes off: /tmp is 1777).
        self.authorized = os.path.join(tmp, 'authorized')
        os.makedirs(self.authorized, exist_ok=True)
        os.chmod(self.authorized, 0o755)


def _write(path, text, uid, gid, mode):
    with open(path, 'w') as f:
        f.write(text)
    os.chown(path, uid, gid)
    os.chmod(path, mode)


def _account_tool(argv, stdin=None, ok=(0,)):
    """useradd, usermod, chpasswd: other tests running at the same time
    may hold the lock on /etc/passwd or /etc/shadow for a moment."""
    for _ in range(50):
        r = subprocess.run(argv, input=stdin, capture_output=True, text=True)
        if r.returncode in ok:
            return r
        if 'lock' not in r.stderr:
            break
        time.sleep(0.1)
    raise RuntimeError('%s: %s' % (' '.join(argv), r.stderr.strip()))


def ensure_user(name, shell, keys=None, password=False):
    """The test user name (created once, idempotently) with shell as login
    shell, a known prompt, no motd, no history, keys's client key
    authorized (in keys's own directory: test runs at the same time each
    have theirs) and, with password, PASSWORD set."""
    try:
        pw = pwd.getpwnam(name)
    except KeyError:
        _account_tool(['useradd', '-m', '-s', shell, '-c', 'sessrec test user', name], ok=(0, 9))
        pw = pwd.getpwnam(name)
    if pw.pw_shell != shell:
        _account_tool(['usermod', '-s', shell, name])
        pw = pwd.getpwnam(name)
    home, uid, gid = pw.pw_dir, pw.pw_uid, pw.pw_gid
    os.makedirs(home, exist_ok=True)
    os.chown(home, uid, gid)
    os.chmod(home, 0o755)
    # bash reads .bash_profile as a login shell, dash reads .profile.
    _write(os.path.join(home, '.bash_profile'),
           "PS1='%s'\nunset PROMPT_COMMAND\nHISTFILE=/dev/null\n"
           "bind 'set enable-bracketed-paste off' 2>/dev/null\n" % PROMPT, uid, gid, 0o644)
    _write(os.path.join(home, '.profile'), "PS1='%s'\n" % PROMPT, uid, gid, 0o644)
    _write(os.path.join(home, '.hushlogin'), '', uid, gid, 0o644)
    if keys:
        _write(os.path.join(keys.authorized, name), keys.pub + '\n', 0, 0, 0o644)
    if password:
        _account_tool(['chpasswd'], stdin='%s:%s\n' % (name, PASSWORD))
    return pw


# --------------------------------------------------------------------------
# PAM stacks

def pam_stack(text, line):
    """A PAM stack (text of /etc/pam.d/SERVICE) with line inserted after
    pam_loginuid.so (the audit session id the daemon checks is set there)."""
    out, done = [], False
    for l in text.splitlines():
        out.append(l)
        if not done and re.match(r'^\s*session\s+\S+\s+pam_loginuid\.so', l):
            out.append(line)
            done = True
    if not done:
        raise RuntimeError('the PAM stack has no pam_loginuid.so line')
    return '\n'.join(out) + '\n'


def module_line(control='requisite', **args):
    """session CONTROL /abs/pam_sessrec.so k=v ... (True: a bare flag)."""
    words = []
    for k, v in args.items():
        if v is True:
            words.append(k)
        elif v not in (None, False):
            words.append('%s=%s' % (k, v))
    return 'session %s %s %s' % (control, module(), ' '.join(words))


class PamFile:
    """A test copy of /etc/pam.d/SERVICE bound over the real one. The line
    can change between logins: PAM reads the file at every pam_start, and
    the file is rewritten in place (the bind mount holds its inode)."""

    def __init__(self, tmp, service, line):
        self.service = service
        self.path = os.path.join(tmp, 'pam.' + service)
        with open('/etc/pam.d/' + service) as f:
            self.system = f.read()  # before it is covered
        self.set(line)
        bind_over(self.path, '/etc/pam.d/' + service)

    def set(self, line):
        self.line = line
        text = pam_stack(self.system, line) if line else self.system
        with open(self.path, 'r+' if os.path.exists(self.path) else 'w') as f:
            f.seek(0)
            f.write(text)
            f.truncate()


# --------------------------------------------------------------------------
# A syslog socket

class SyslogSink:
    """A datagram socket standing in for /dev/log: what pam_sessrec emits
    when it is configured (config=) to send events there."""

    def __init__(self, tmp):
        self.path = os.path.join(tmp, 'devlog.sock')
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.s.bind(self.path)
        os.chmod(self.path, 0o666)
        self.s.setblocking(False)
        self.text = ''

    def read(self):
        while True:
            try:
                self.text += self.s.recv(65536).decode('utf-8', 'replace') + '\n'
            except BlockingIOError:
                return self.text

    def events(self, msgid=None):
        return h.events(self.read(), msgid)

    def wait(self, msgid, pred=lambda e: True, timeout=5.0):
        return h.wait_for(lambda: [e for e in self.events(msgid) if pred(e)], timeout)


def module_config(tmp, sink):
    """The daemon configuration file the module reads (config=) to know
    where session_skipped goes."""
    path = os.path.join(tmp, 'pam-sessrecd.conf')
    h.write_config(path, {'Syslog': {'Targets': 'devlog', 'DevLog': sink.path}})
    return path


# --------------------------------------------------------------------------
# sshd

class Sshd:
    """/usr/sbin/sshd -D -e -f CONFIG on 127.0.0.1:PORT with its own host
    key; forced users run the shim as ForceCommand; the PAM stack is a test
    copy of /etc/pam.d/sshd with the module's line."""

    def __init__(self, tmp, keys, line, forced_users, shim=None, extra=''):
        self.tmp = tmp
        self.keys = keys
        self.port = free_port()
        self.conf = os.path.join(tmp, 'sshd_config')
        self.log_path = os.path.join(tmp, 'sshd.log')
        self.pid_file = os.path.join(tmp, 'sshd.pid')
        shim = shim or h.binary('sessrec-shell')
        force = ''
        if forced_users:
            force = 'Match User %s\n\tForceCommand %s\n' % (','.join(forced_users), shim)
        with open(self.conf, 'w') as f:
            f.write('Port %d\nListenAddress 127.0.0.1\nHostKey %s\nPidFile %s\n'
                    'UsePAM yes\nPubkeyAuthentication yes\nPasswordAuthentication no\n'
                    'KbdInteractiveAuthentication no\nAuthorizedKeysFile %s/%%u\nStrictModes no\n'
                    'PrintMotd no\nPrintLastLog no\nMaxStartups 100\nMaxSessions 100\n'
                    'Subsystem sftp /usr/lib/openssh/sftp-server\nLogLevel VERBOSE\n%s%s'
                    % (self.port, keys.host, self.pid_file, keys.authorized, extra, force))
        self.pam = PamFile(tmp, 'sshd', line)
        os.makedirs('/run/sshd', mode=0o755, exist_ok=True)
        r = subprocess.run([SSHD, '-t', '-f', self.conf], capture_output=True, text=True)
        if r.returncode:
            raise RuntimeError('sshd -t: ' + r.stderr)
        log = open(self.log_path, 'ab')
        self.p = subprocess.Popen([SSHD, '-D', '-e', '-f', self.conf], stdin=subprocess.DEVNULL,
                                  stdout=log, stderr=subprocess.STDOUT)
        log.close()
        h.register(self.p.pid, 'sshd')
        wait_port(self.port, self.p)

    def log(self):
        return h.read_text(self.log_path) or ''

    def client_argv(self, user, *cmd, tty=True, prog='ssh'):
        argv = [prog, '-q', '-i', self.keys.client, '-o', 'StrictHostKeyChecking=no',
                '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-o', 'BatchMode=yes']
        if prog == 'ssh':
            argv += ['-tt' if tty else '-T', '-p', str(self.port), '%s@127.0.0.1' % user] + list(cmd)
        else:
            argv += ['-P', str(self.port)]
        return argv

    def login(self, user, *cmd, rows=24, cols=80):
        """The real ssh client on a fresh pty: an interactive login (or
        `ssh -tt host cmd`)."""
        return h.Pty(self.client_argv(user, *cmd), env=CLIENT_ENV, rows=rows, cols=cols)

    def run(self, user, cmd, stdin=b'', timeout=30):
        """ssh host cmd without a terminal."""
        return subprocess.run(self.client_argv(user, cmd, tty=False), input=stdin, capture_output=True,
                              env=CLIENT_ENV, timeout=timeout)

    def stop(self):
        _stop(self.p)


# --------------------------------------------------------------------------
# telnetd

class Telnetd:
    """Debian's telnetd (inetutils), started per connection on
    127.0.0.1:PORT by systemd-socket-activate; it runs login(1), whose PAM
    stack is a test copy of /etc/pam.d/login with the module's line."""

    def __init__(self, tmp, line):
        self.tmp = tmp
        self.port = free_port()
        self.pam = PamFile(tmp, 'login', line)
        self.log_path = os.path.join(tmp, 'telnetd.log')
        log = open(self.log_path, 'ab')
        self.p = subprocess.Popen(['systemd-socket-activate', '--inetd', '-a', '-l',
                                   '127.0.0.1:%d' % self.port, TELNETD],
                                  stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        h.register(self.p.pid, 'systemd-socket-activate')
        wait_port(self.port, self.p)

    def client(self, rows=24, cols=80):
        """The real telnet client on a fresh pty."""
        return h.Pty(['telnet', '127.0.0.1', str(self.port)], env=CLIENT_ENV, rows=rows, cols=cols)

    def login(self, user, rows=24, cols=80):
        """Connects and logs user in; returns the pty at the first prompt."""
        p = self.client(rows, cols)
        p.expect(rb'login: ', 20)
        p.send(user + '\r')
        p.expect(rb'Password: ', 20)
        p.send(PASSWORD + '\r')
        p.expect(h.PROMPT_RX, 20)
        return p

    def stop(self):
        _stop(self.p)


# --------------------------------------------------------------------------
# Processes

def children(pid):
    """Live children of pid."""
    out = []
    for d in os.listdir('/proc'):
        if not d.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % d, 'rb') as f:
                st = f.read()
        except OSError:
            continue
        fields = st[st.rindex(b')') + 2:].split()
        if int(fields[1]) == pid and fields[0] != b'Z':
            out.append(int(d))
    return out


def foreground(pid, comm):
    """Whether pid runs comm (it has exec'd) as its terminal's foreground
    process group: a job the shell has finished starting."""
    try:
        with open('/proc/%d/stat' % pid, 'rb') as f:
            st = f.read()
    except OSError:
        return False
    fields = st[st.rindex(b')') + 2:].split()
    name = st[st.index(b'(') + 1:st.rindex(b')')]
    return name == comm and fields[2] == fields[5]


def alive(pid):
    return h.alive(pid)


def survivors(pids):
    """What is left of pids, as ps shows it (for failure messages)."""
    left = [str(q) for q in pids if alive(q)]
    if not left:
        return []
    r = subprocess.run(['ps', '-o', 'pid,ppid,sid,tty,stat,args', '-p', ','.join(left)],
                       capture_output=True, text=True)
    return r.stdout.splitlines()


# --------------------------------------------------------------------------
# Recordings

def header(d, sid, timeout=5.0):
    """The session's hdr line (with meta) once written, else None."""
    def find():
        for o in h.session_lines(d.lines(), sid):
            if 'hdr' in o:
                return o
        return None
    return h.wait_for(find, timeout)


def sids_of_user(d, user):
    return [o['sid'] for _, o in d.lines() if o and 'hdr' in o and o.get('meta', {}).get('user') == user]


def check_meta(tc, d, sid, user, service, proto):
    """The session's header names user, service and proto, and a client on
    127.0.0.1 with its port and tty; returns the meta."""
    hdr = header(d, sid)
    tc.assertIsNotNone(hdr, 'no header for ' + sid)
    m = hdr['meta']
    tc.assertEqual(m.get('user'), user)
    tc.assertEqual(m.get('service'), service)
    tc.assertEqual(m.get('proto'), proto)
    tc.assertEqual(m.get('src_ip'), '127.0.0.1')
    tc.assertIsInstance(m.get('src_port'), int)
    tc.assertRegex(m.get('tty') or '', r'^/dev/pts/\d+$', 'meta.tty is not the login\'s terminal: %r' % m)
    return m


SID_RX = re.compile(rb'sid=([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\b')


PID_RX = re.compile(rb'pid=(\d+)\b')


def ask_pid(p):
    """The shell's own pid."""
    p.send('echo pid=$$\r')
    m = p.expect(PID_RX)
    p.expect(h.PROMPT_RX)
    return int(m.group(1))


def ask_sid(p):
    """Asks the shell for $SESSREC_SID (set by the module) and returns it."""
    p.send('echo sid=$SESSREC_SID\r')
    m = p.expect(SID_RX)
    p.expect(h.PROMPT_RX)
    return m.group(1).decode()


# --------------------------------------------------------------------------
# Steps in a logged-in shell

def job_control(p, rows, cols):
    """With a command running in the foreground of p's shell: ^C ends it,
    ^Z stops the next one (then killed), and a resize of the client's
    terminal to rows x cols reaches the shell (stty size)."""
    time.sleep(0.3)
    p.send('\x03')
    p.expect(h.PROMPT_RX)
    p.send('sleep 31\r')
    time.sleep(0.3)
    p.send('\x1a')
    p.expect(rb'Stopped\s+sleep 31')
    p.expect(h.PROMPT_RX)
    p.send('kill -9 %1; wait\r')
    p.expect(h.PROMPT_RX)
    p.resize(rows, cols)
    time.sleep(0.6)
    p.send('stty size\r')
    p.expect(b'%d %d\r\n' % (rows, cols))
    p.expect(h.PROMPT_RX)


def check_client_killed(tc, d, p):
    """The client of the logged-in p is killed while its shell runs a
    command: the recording ends, and neither the shell nor the command
    outlives the client."""
    sid = ask_sid(p)
    shell = ask_pid(p)
    p.send('sleep 1000\r')
    p.expect(b'sleep 1000\r\n')
    # The job has started: exec'd and given the terminal. Killing the client
    # between bash's fork and that races the shell's own job set-up, where
    # a hangup can miss the job whether or not it is recorded.
    kids = h.wait_for(lambda: [k for k in children(shell) if foreground(k, b'sleep')], 5)
    tc.assertTrue(kids)
    os.kill(p.pid, signal.SIGKILL)
    p.finish()
    tc.assertIsNotNone(d.wait_end(sid, 15), 'recording did not end after the client was killed')
    tc.assertTrue(h.wait_for(lambda: not [q for q in [shell] + kids if alive(q)], 10),
                  'the shell or its command outlived the client: %r' % survivors([shell] + kids))
