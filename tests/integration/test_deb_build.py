"""scripts/build-deb builds sessrec and libpam-sessrec with dpkg-buildpackage
from a copy of the tree (the tree stays clean), lintian-clean (every tag it
shows fails the build unless overridden with a reason), the version from
debian/changelog, plus the same build as a higher version for the upgrade
test. The CTest fixture of the other test_deb_* tests: the .deb files go to
$SESSREC_BUILD/debs. Checks what each package holds, file by file, and the
conffiles. Skipped (77) without dpkg-buildpackage."""
import glob
import os
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
import harness_deb as hd  # noqa: E402
import nspawnfix as nf  # noqa: E402

BUILT = None


def setUpModule():
    global BUILT
    out = hd.debs_dir()
    shutil.rmtree(out, ignore_errors=True)
    before = leftovers()
    BUILT = subprocess.run([os.path.join(h.SRC, 'scripts', 'build-deb'), '-o', out, '--nocheck',
                            '--also', hd.upgrade_version()], capture_output=True, text=True, timeout=1200,
                           stdin=subprocess.DEVNULL, env=dict(os.environ, SESSREC_DEB_JOBS='2'))
    print(BUILT.stdout[-3000:], BUILT.stderr[-3000:], flush=True)
    BUILT.left = sorted(set(leftovers()) - set(before))


def leftovers():
    """What dpkg-buildpackage and debhelper write when run in a tree."""
    pats = ['obj-*', 'debian/.debhelper', 'debian/files', 'debian/debhelper-build-stamp', 'debian/tmp',
            'debian/sessrec', 'debian/libpam-sessrec', 'debian/*.substvars', 'debian/*.debhelper*',
            '../sessrec_*', '../libpam-sessrec_*']
    return [f for p in pats for f in glob.glob(os.path.join(h.SRC, p))]


def contents(deb):
    """Regular files and symlinks of a .deb, without the leading '.'."""
    r = subprocess.run(['dpkg-deb', '--fsys-tarfile', deb], capture_output=True, check=True)
    t = subprocess.run(['tar', '-tvf', '-'], input=r.stdout, capture_output=True, check=True)
    out = {}
    for line in t.stdout.decode().splitlines():
        f = line.split()
        if f[0][0] in '-l':
            out[f[5][1:]] = f[0]
    return out


def field(deb, name):
    return subprocess.run(['dpkg-deb', '-f', deb, name], capture_output=True, text=True, check=True).stdout.strip()


class Build(unittest.TestCase):
    def test_built_lintian_clean(self):
        self.assertEqual(BUILT.returncode, 0, BUILT.stdout[-3000:] + BUILT.stderr[-3000:])
        self.assertEqual(BUILT.left, [], 'the build wrote into the tree')
        for v in (hd.tree_version(), hd.upgrade_version()):
            for deb in hd.deb_files(v):
                self.assertEqual(field(deb, 'Version'), v, deb)

    def test_sessrec_contents(self):
        deb = hd.deb_files(hd.tree_version())[0]
        units = sorted(os.path.basename(u) for ext in ('service', 'socket', 'timer')
                       for u in glob.glob(os.path.join(h.SRC, 'conf', '*.' + ext)))
        honeypot = sorted(os.path.relpath(os.path.join(d, f), os.path.join(h.SRC, 'conf', 'honeypot'))
                          for d, _, fs in os.walk(os.path.join(h.SRC, 'conf', 'honeypot')) for f in fs)
        want = {'/usr/sbin/sessrecd': '-rwxr-xr-x', '/usr/sbin/sessrec-shell': '-rwxr-xr-x',
                '/usr/bin/sessrecctl': '-rwxr-xr-x',
                '/etc/sessrec/sessrecd.conf': '-rw-r--r--', '/etc/ssh/sshd_config.d/sessrec.conf': '-rw-r--r--',
                '/usr/lib/tmpfiles.d/sessrec.conf': '-rw-r--r--', '/usr/lib/sysusers.d/sessrec.conf': '-rw-r--r--',
                '/usr/share/bash-completion/completions/sessrecctl': '-rw-r--r--',
                '/usr/share/doc/sessrec/changelog.gz': '-rw-r--r--', '/usr/share/doc/sessrec/copyright': '-rw-r--r--',
                '/usr/share/lintian/overrides/sessrec': '-rw-r--r--'}
        for u in units:
            want['/lib/systemd/system/' + u] = '-rw-r--r--'
        for f in honeypot:
            want['/usr/share/doc/sessrec/examples/honeypot/' + f] = '-rw-r--r--'
        for page in ('man1/sessrecctl.1', 'man5/sessrec-shards.5', 'man5/sessrecd.conf.5', 'man8/sessrecd.8',
                     'man8/sessrec-shell.8'):
            want['/usr/share/man/%s.gz' % page] = '-rw-r--r--'
        self.assertEqual(contents(deb), want)
        self.assertEqual(self.conffiles(deb), ['/etc/sessrec/sessrecd.conf', '/etc/ssh/sshd_config.d/sessrec.conf'])
        self.assertIn('libpam-sessrec', field(deb, 'Recommends'))

    def test_libpam_contents(self):
        deb = hd.deb_files(hd.tree_version())[1]
        arch = subprocess.run(['dpkg-architecture', '-qDEB_HOST_MULTIARCH'], capture_output=True,
                              text=True).stdout.strip()
        self.assertEqual(contents(deb), {
            '/lib/%s/security/pam_sessrec.so' % arch: '-rw-r--r--',
            '/etc/pam.d/sessrec-sshd': '-rw-r--r--', '/etc/pam.d/sessrec-login': '-rw-r--r--',
            '/usr/share/pam-configs/sessrec': '-rw-r--r--',
            '/usr/share/man/man8/pam_sessrec.8.gz': '-rw-r--r--',
            '/usr/share/doc/libpam-sessrec/changelog.gz': '-rw-r--r--',
            '/usr/share/doc/libpam-sessrec/copyright': '-rw-r--r--',
            '/usr/share/lintian/overrides/libpam-sessrec': '-rw-r--r--'})
        self.assertEqual(self.conffiles(deb), ['/etc/pam.d/sessrec-login', '/etc/pam.d/sessrec-sshd'])
        self.assertIn('sessrec (= %s)' % hd.tree_version(), field(deb, 'Depends'))

    def conffiles(self, deb):
        tmp = h.tmpdir('srdebctl-')
        self.addCleanup(shutil.rmtree, tmp, True)
        subprocess.run(['dpkg-deb', '-e', deb, tmp], check=True)
        return sorted((h.read_text(os.path.join(tmp, 'conffiles')) or '').split())


if __name__ == '__main__':
    if not shutil.which('dpkg-buildpackage') or not os.path.isdir('/usr/share/perl5/Debian/Debhelper'):
        print('SKIP: no dpkg-buildpackage or debhelper (scripts/deps installs them)', flush=True)
        sys.exit(nf.SKIP)
    unittest.main(verbosity=2)
