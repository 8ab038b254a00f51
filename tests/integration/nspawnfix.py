"""A real systemd for the tests: Debian's own systemd booted as PID 1 of a
systemd-nspawn container whose root is an overlay of the host's / (upper
and work dirs in a tmpfs, so every write stays in RAM and goes with the
container). The host runs no systemd or machined, so the launching process
is moved into cgroups of its own in the name=systemd and unified
hierarchies first. Commands run inside with nsenter into every namespace
of the container's PID 1. Must be used from a private mount namespace
(harness.in_private_mount_ns): the overlay and tmpfs mounts are made there.
Python 3 stdlib only.

Skips: tests call skip_unless_possible() first; it exits with SKIP (77,
the SKIP_RETURN_CODE tests/CMakeLists.txt gives the deb tests) and one
line saying why, when nspawn cannot run here."""
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid

import harness as h

SKIP = 77
NSPAWN = '/usr/bin/systemd-nspawn'
CGROOT = '/sys/fs/cgroup'
PATH_ENV = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'


def why_not():
    """None when a container can boot here, else the reason it cannot."""
    if os.environ.get('SESSREC_NO_NSPAWN'):
        return 'SESSREC_NO_NSPAWN is set'
    if os.geteuid() != 0:
        return 'needs root'
    if not os.access(NSPAWN, os.X_OK):
        return 'no %s (package systemd-container)' % NSPAWN
    # The layout of these machines (and CI): no systemd on the host, cgroup
    # v1 with name=systemd and a cgroup2 "unified" hierarchy. Other layouts
    # (a host systemd, pure cgroup2) are not what this fixture was made for.
    for hier in ('systemd', 'unified'):
        if not os.path.isdir(os.path.join(CGROOT, hier)):
            return 'no %s/%s hierarchy to make the container\'s cgroup in' % (CGROOT, hier)
    try:
        with open('/proc/sys/kernel/pty/max') as f:
            pmax = int(f.read())
        with open('/proc/sys/kernel/pty/nr') as f:
            pnr = int(f.read())
    except (OSError, ValueError):
        return None
    if pmax - pnr < 8:
        return 'no free ptys for nspawn (kernel.pty.nr %d of kernel.pty.max %d)' % (pnr, pmax)
    return None


def skip_unless_possible():
    """Exits with SKIP and the reason when nspawn cannot run here."""
    why = why_not()
    if why:
        print('SKIP: a systemd-nspawn container cannot run here: %s' % why, flush=True)
        sys.exit(SKIP)


def _nspid(pid):
    try:
        with open('/proc/%d/status' % pid) as f:
            for line in f:
                if line.startswith('NSpid:'):
                    return line.split()[1:]
    except OSError:
        pass
    return []


def _rm_cgroup(path, timeout=10.0):
    """Removes a cgroup directory and the ones nspawn or systemd made in it
    (the last processes of a killed container may take a moment to go)."""
    end = time.time() + timeout
    while os.path.isdir(path):
        for top, dirs, _ in os.walk(path, topdown=False):
            for d in dirs:
                try:
                    os.rmdir(os.path.join(top, d))
                except OSError:
                    pass
        try:
            os.rmdir(path)
        except OSError:
            if time.time() > end:
                print('nspawnfix: cannot remove the cgroup %s' % path, flush=True)
                return
            time.sleep(0.1)


class Container:
    """A booted container. root: its / as the host sees it (the overlay);
    pid1: the host pid of its systemd. files: {path inside: host path}
    copied in before the boot (the .deb files, say)."""

    def __init__(self, files=None, boot_timeout=60.0):
        self.tmp = h.tmpdir('srnspawn-')
        self.name = 'srt-%d-%s' % (os.getpid(), uuid.uuid4().hex[:6])
        self.log_path = os.path.join(self.tmp, 'nspawn.log')
        self.p = None
        self.pid1 = None
        self.cgroups = [os.path.join(CGROOT, hier, 'sessrec-' + self.name) for hier in ('systemd', 'unified')]
        self.rw = os.path.join(self.tmp, 'rw')
        self.root = os.path.join(self.tmp, 'root')
        os.makedirs(self.rw)
        os.makedirs(self.root)
        if os.environ.get('SESSREC_IN_MOUNT_NS') != '1':
            raise RuntimeError('nspawnfix: mounts only in a private mount namespace')
        h.mount_tmpfs(self.rw)
        for d in ('upper', 'work'):
            os.makedirs(os.path.join(self.rw, d))
        self.upper = os.path.join(self.rw, 'upper')
        subprocess.run(['mount', '-t', 'overlay', 'overlay', '-o',
                        'lowerdir=/,upperdir=%s,workdir=%s' % (self.upper, os.path.join(self.rw, 'work')),
                        self.root], check=True)
        # nspawn refuses the host's machine id.
        with open(os.path.join(self.root, 'etc/machine-id'), 'w') as f:
            f.write(uuid.uuid4().hex + '\n')
        # A Docker-style policy-rc.d (exit 101) on the host would keep
        # debhelper from starting units in a booted system that has none.
        policy = os.path.join(self.root, 'usr/sbin/policy-rc.d')
        if os.path.lexists(policy):
            os.unlink(policy)
        for inside, src in (files or {}).items():
            dst = os.path.join(self.root, inside.lstrip('/'))
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            shutil.copy(src, dst)
        self.boot(boot_timeout)

    def boot(self, timeout):
        for cg in self.cgroups:
            os.makedirs(cg, exist_ok=True)
        procs = [os.path.join(cg, 'cgroup.procs') for cg in self.cgroups]

        def into_cgroups():
            for p in procs:
                with open(p, 'w') as f:
                    f.write('0\n')
        log = open(self.log_path, 'ab')
        self.p = subprocess.Popen([NSPAWN, '-q', '-D', self.root, '-M', self.name, '--register=no', '--keep-unit',
                                   '--private-network', '-b', '--console=passive'],
                                  stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                  preexec_fn=into_cgroups)
        log.close()
        h.register(self.p.pid, 'systemd-nspawn')
        end = time.time() + timeout
        while self.pid1 is None:
            self._check_alive()
            for k in h.descendants(self.p.pid):
                ns = _nspid(k)
                if len(ns) >= 2 and ns[-1] == '1':
                    self.pid1 = k
            if time.time() > end:
                raise RuntimeError('nspawn started no PID 1: %s' % self.log()[-1500:])
            time.sleep(0.05)
        state = ''
        while True:
            self._check_alive()
            r = self.run(['systemctl', 'is-system-running'], check=False)
            state = r.stdout.strip()
            if state in ('running', 'degraded'):
                break
            if time.time() > end:
                raise RuntimeError('the container\'s systemd is %r after %d s: %s'
                                   % (state, timeout, self.log()[-1500:]))
            time.sleep(0.2)
        if state == 'degraded':
            failed = self.run(['systemctl', '--failed', '--no-legend', '--plain'], check=False).stdout
            print('nspawnfix: the container booted degraded; failed units:\n%s' % failed, flush=True)

    def _check_alive(self):
        if self.p.poll() is not None:
            text = self.log()
            if 'pty' in text.lower():
                raise RuntimeError('systemd-nspawn could not allocate a pty (kernel.pty.max?): %s' % text[-1500:])
            raise RuntimeError('systemd-nspawn exited with %s: %s' % (self.p.returncode, text[-1500:]))

    def log(self):
        return h.read_text(self.log_path) or ''

    def argv(self, cmd):
        """cmd run inside the container (every namespace of its PID 1)."""
        return ['nsenter', '-t', str(self.pid1), '-a', '--'] + list(cmd)

    def run(self, cmd, check=True, timeout=120, input=None, env=None):
        """cmd inside, output captured as text; check: fail with it on
        a non-zero exit."""
        e = {'PATH': PATH_ENV, 'LANG': 'C.UTF-8', 'HOME': '/root', 'DEBIAN_FRONTEND': 'noninteractive'}
        e.update(env or {})
        r = subprocess.run(self.argv(cmd), capture_output=True, text=True, timeout=timeout, input=input,
                           stdin=None if input is not None else subprocess.DEVNULL, env=e)
        if check and r.returncode != 0:
            raise RuntimeError('in the container: %s: exit %d\n%s%s'
                               % (' '.join(cmd), r.returncode, r.stdout[-3000:], r.stderr[-3000:]))
        return r

    def sh(self, script, check=True, timeout=120, env=None):
        return self.run(['/bin/sh', '-c', script], check=check, timeout=timeout, env=env)

    def path(self, inside):
        """A path inside the container as the host sees it."""
        return os.path.join(self.root, inside.lstrip('/'))

    def main_pid(self, unit):
        """The MainPID systemd gives unit, as a host pid (0: none)."""
        inner = int(self.run(['systemctl', 'show', '-P', 'MainPID', unit]).stdout.strip() or 0)
        if not inner:
            return 0
        for k in h.descendants(self.p.pid):
            ns = _nspid(k)
            if ns and ns[-1] == str(inner):
                return k
        return 0

    def stop(self, timeout=60.0):
        """SIGTERM to nspawn powers the container off; waits for it."""
        if self.p is not None and self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                print('nspawnfix: the container did not power off in %d s: killed; its console:\n%s'
                      % (timeout, self.log()[-3000:]), flush=True)
                self.p.kill()
                self.p.wait()
        if self.p is not None:
            h._pids.pop(self.p.pid, None)
        for cg in self.cgroups:
            _rm_cgroup(cg)

    def cleanup(self):
        self.stop()
        for m in (self.root, self.rw):
            subprocess.run(['umount', '-l', m], capture_output=True)
        shutil.rmtree(self.tmp, ignore_errors=True)
