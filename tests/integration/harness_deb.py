"""What the test_deb_* tests share: the .deb files scripts/build-deb made
(test_deb_build, the CTest fixture, puts them in $SESSREC_BUILD/debs), a
booted container (nspawnfix) with them installed the way README says, a
recorded user enrolled as README says, and a real ssh login into the
container's own sshd on a pty of ours. Python 3 stdlib only."""
import glob
import os
import re
import subprocess

import harness as h
import nspawnfix as nf
import pamharness as ph

DEBS_INSIDE = '/srv/sessrec-debs'
USER = 'srdeb'
# The upgrade's version: the tree's, plus this (scripts/build-deb --also).
UPGRADE_SUFFIX = '+upgradetest1'


def debs_dir():
    return os.environ.get('SESSREC_DEBS') or os.path.join(h.BUILD, 'debs')


def tree_version():
    """The version debian/changelog gives (its first line)."""
    with open(os.path.join(h.SRC, 'debian', 'changelog')) as f:
        m = re.match(r'^sessrec \(([^)]+)\)', f.readline())
    return m.group(1)


def upgrade_version():
    return tree_version() + UPGRADE_SUFFIX


def deb_files(version):
    """The two .deb files of version (host paths), or fail saying how to make them."""
    out = []
    for pkg in ('sessrec', 'libpam-sessrec'):
        found = glob.glob(os.path.join(debs_dir(), '%s_%s_*.deb' % (pkg, version)))
        if len(found) != 1:
            raise RuntimeError('no %s %s .deb in %s: run test_deb_build (or scripts/build-deb -o %s --also %s)'
                               % (pkg, version, debs_dir(), debs_dir(), upgrade_version()))
        out.append(found[0])
    return out


def inside(path):
    return os.path.join(DEBS_INSIDE, os.path.basename(path))


class Box(nf.Container):
    """A container with every built .deb copied into DEBS_INSIDE (copying
    a package in is not installing it: dpkg does that, inside)."""

    def __init__(self):
        for pkg in ('sessrec', 'libpam-sessrec'):
            r = subprocess.run(['dpkg-query', '-W', '-f', '${Status}', pkg], capture_output=True, text=True)
            if r.stdout.startswith('install'):
                raise RuntimeError('%s is installed on this host: the container (an overlay of /) would '
                                   'start with it' % pkg)
        files = {}
        for v in (tree_version(), upgrade_version()):
            for f in deb_files(v):
                files[inside(f)] = f
        super().__init__(files=files)

    def install(self, version):
        """apt installs both packages of version from the files, as README says."""
        debs = [inside(f) for f in deb_files(version)]
        return self.run(['apt-get', 'install', '-y', '-q', '--no-install-recommends'] + debs, timeout=180)

    def dpkg_i(self, version):
        """dpkg -i of both packages of version (the upgrade path)."""
        return self.run(['dpkg', '-i'] + [inside(f) for f in deb_files(version)], timeout=180)

    def installed_version(self, pkg):
        r = self.run(['dpkg-query', '-W', '-f', '${Status} ${Version}', pkg], check=False)
        return r.stdout.strip()

    def shard_dir(self):
        return self.path('/var/lib/sessrec')

    def lines(self):
        return h.shard_lines(self.shard_dir())

    def enroll(self, user=USER):
        """A user with a key, a known prompt and no motd, then README's
        steps that choose who is recorded: the PAM profile on, the user in
        the group "recorded" and enrolled (sessrec-shell as login shell),
        sshd restarted (the snippet is installed)."""
        self.run(['useradd', '-m', '-s', '/bin/bash', user])
        home = '/home/' + user
        self.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', '/root/srdeb-key'])
        prof = ("PS1='%s'\nunset PROMPT_COMMAND\nHISTFILE=/dev/null\n"
                "bind 'set enable-bracketed-paste off' 2>/dev/null\n" % h.PROMPT)
        self.sh("set -e; cd %s; install -d -m 0700 -o %s .ssh; install -m 0600 -o %s /root/srdeb-key.pub "
                ".ssh/authorized_keys; printf '%%s' \"$P\" > .bash_profile; : > .hushlogin; chown %s .bash_profile "
                ".hushlogin" % (home, user, user, user), env={'P': prof})
        self.run(['pam-auth-update', '--enable', 'sessrec'])
        self.run(['usermod', '-aG', 'recorded', user])
        self.run(['sessrecctl', 'enroll', user])
        # restart, not reload: a reload returns once SIGHUP is sent, and sshd
        # re-execs and listens again only after it (a login in between was
        # refused); a restart of the Type=notify unit waits for READY=1.
        self.run(['systemctl', 'restart', 'ssh.service'])

    def login(self, user=USER, rows=24, cols=80):
        """The real ssh client, in the container, on a pty of ours."""
        argv = self.argv(['ssh', '-tt', '-q', '-i', '/root/srdeb-key', '-o', 'StrictHostKeyChecking=no',
                          '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-o', 'BatchMode=yes',
                          '%s@127.0.0.1' % user])
        env = {'PATH': nf.PATH_ENV, 'HOME': '/root', 'TERM': 'xterm', 'LANG': 'C.UTF-8'}
        return h.Pty(argv, env=env, rows=rows, cols=cols)

    def recorded_login(self, tc):
        """A login at its prompt, ended with tc; its sid (the module set
        $SESSREC_SID) once its header is in the shard, and the file (host
        path) the shell writes to when it gets SIGHUP."""
        p = self.login()
        tc.addCleanup(p.finish)
        try:
            p.expect(h.PROMPT_RX, 30)
        except AssertionError as e:  # say why: the container's sshd and daemon
            tail = self.run(['journalctl', '-q', '--no-pager', '-o', 'short-monotonic', '-n', '80', '-u',
                             'ssh.service', '-u', 'sessrecd.service', '-u', 'sessrecd.socket'], check=False).stdout
            raise AssertionError('%s\nthe container\'s journal (ssh, sessrecd):\n%s' % (e, tail)) from None
        sid = ph.ask_sid(p)
        hup = '/home/%s/hup' % USER
        p.send("trap 'echo HUP >> %s' HUP\r" % hup)
        p.expect(h.PROMPT_RX)
        tc.assertTrue(h.wait_for(lambda: [o for o in h.session_lines(self.lines(), sid) if 'hdr' in o], 5),
                      'the login was not recorded')
        return p, sid, self.path(hup)

    def end_line(self, sid, timeout=15.0):
        """The session's end line once written (None after timeout)."""
        ends = h.wait_for(lambda: [o for o in h.session_lines(self.lines(), sid) if 'end' in o], timeout)
        return ends[-1] if ends else None

    def journal(self, unit):
        return self.run(['journalctl', '-q', '--no-pager', '-o', 'cat', '-u', unit], check=False).stdout


def ctl(*args):
    """sessrecctl built from source (on the host), output captured."""
    return subprocess.run([h.binary('sessrecctl')] + list(args), capture_output=True, timeout=60,
                          stdin=subprocess.DEVNULL, env=h.ctl_env())
