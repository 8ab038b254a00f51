"""Process plumbing for the integration tests: the build's binaries, a
reaper that waits for every process started (PID 1 here reaps no orphans, so
the test process is made a subreaper), temp dirs, the test user, fds of a
process, a private mount namespace. Python 3 stdlib only."""
import atexit
import os
import pwd
import signal
import subprocess
import sys
import tempfile
import time

BUILD = os.environ.get('SESSREC_BUILD', '')
SRC = os.environ.get('SESSREC_SRC', os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
TEST_USER = 'sessrec-it'
try:
    import grp
    TTY_GID = grp.getgrnam('tty').gr_gid
except (ImportError, KeyError):
    TTY_GID = 5

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


def forget(pid):
    """pid was waited for by other means (Popen.wait)."""
    _pids.pop(pid, None)


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


def read_text(path):
    """The file's text, or None if it does not exist (yet)."""
    try:
        with open(path, errors='replace') as f:
            return f.read()
    except OSError:
        return None
