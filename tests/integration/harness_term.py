"""Terminals for the integration tests: a pty whose master the test holds
while its child runs as session leader on the slave (sshd's part), with
expect/send/resize/hangup, the environments sshd and sessrecctl give, and
sessrecctl run with its output captured."""
import fcntl
import os
import re
import select
import signal
import struct
import subprocess
import termios
import time

from harness_proc import TTY_GID, _pids, binary, reap, register


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


def ctl_env(extra=None):
    env = {'PATH': '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
           'HOME': '/root', 'TERM': 'xterm', 'LANG': 'C.UTF-8'}
    env.update(extra or {})
    return env


def ctl(*args, timeout=60, **kw):
    """sessrecctl ARGS, output captured, no stdin (kw: more subprocess.run
    arguments, such as user= and group=)."""
    return subprocess.run([binary('sessrecctl'), *args], capture_output=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, **kw)


def record(sock, script, rows=24, cols=80, env=None):
    """`sessrecctl record -- sh -c SCRIPT` on its own fresh pty."""
    return Pty([binary('sessrecctl'), 'record', '--socket', sock, '--', '/bin/sh', '-c', script],
               env=env or ctl_env(), rows=rows, cols=cols)
