"""The .deb files installed under a real systemd (nspawnfix): apt installs
both packages from the files; debhelper enabled and started the socket and
the service; the group, the directories, the configuration, the PAM
profile, the man pages and the completion are where the packages say;
`systemd-analyze verify` is clean on the installed units and `systemd-
analyze security` scores sessrecd.service at 1.7 or better (printed); the
daemon answers on the installed socket; the shipped retention service,
started by systemd as its timer would, compresses, deletes and holds dated
shards as a [Retention] drop-in says, with its events in the journal.
Skipped (77) where nspawn cannot run."""
import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
import harness_deb as hd  # noqa: E402
import test_retention as tr  # noqa: E402
import nspawnfix as nf  # noqa: E402

EXPOSURE_LIMIT = 1.7
BOX = None


def setUpModule():
    global BOX
    BOX = hd.Box()
    BOX.install(hd.tree_version())


def tearDownModule():
    if BOX:
        BOX.cleanup()


class Installed(unittest.TestCase):
    def test_packages_installed(self):
        for pkg in ('sessrec', 'libpam-sessrec'):
            self.assertEqual(BOX.installed_version(pkg), 'install ok installed ' + hd.tree_version())

    def test_socket_and_service_enabled_and_running(self):
        r = BOX.run(['systemctl', 'status', '--no-pager', 'sessrecd.socket', 'sessrecd.service'], check=False)
        print(r.stdout, flush=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertRegex(r.stdout, r'sessrecd\.socket.*\n(.*\n)*?\s+Active: active \((listening|running)\)')
        self.assertRegex(r.stdout, r'sessrecd\.service.*\n(.*\n)*?\s+Active: active \(running\)')
        self.assertRegex(r.stdout, r'Status: ')   # sd_notify STATUS= reached systemd
        for unit in ('sessrecd.socket', 'sessrecd.service'):
            self.assertEqual(BOX.run(['systemctl', 'is-enabled', unit]).stdout.strip(), 'enabled', unit)
        r = BOX.run(['sessrecctl', 'status'])
        self.assertEqual(r.returncode, 0)
        # Every timer conf/ ships (the retention timer) is enabled and waiting.
        for t in sorted(f for f in os.listdir(os.path.join(h.SRC, 'conf')) if f.endswith('.timer')):
            self.assertEqual(BOX.run(['systemctl', 'is-enabled', t]).stdout.strip(), 'enabled', t)
            self.assertEqual(BOX.run(['systemctl', 'is-active', t]).stdout.strip(), 'active', t)

    def test_verify_clean(self):
        r = BOX.run(['systemd-analyze', 'verify', '--man=no', '/lib/systemd/system/sessrecd.service',
                     '/lib/systemd/system/sessrecd.socket'], check=False)
        self.assertEqual((r.returncode, r.stdout + r.stderr), (0, ''))

    def test_security_exposure(self):
        r = BOX.run(['systemd-analyze', 'security', '--no-pager', 'sessrecd.service'], check=False)
        m = re.search(r'Overall exposure level for sessrecd\.service: (\d+\.\d+) (\S+)', r.stdout)
        self.assertIsNotNone(m, r.stdout[-2000:] + r.stderr)
        print('systemd-analyze security sessrecd.service: exposure %s %s (limit %.1f)'
              % (m.group(1), m.group(2), EXPOSURE_LIMIT), flush=True)
        self.assertLessEqual(float(m.group(1)), EXPOSURE_LIMIT, r.stdout)

    def test_files_in_place(self):
        def st(path):
            # Inside: /run is the container's own tmpfs, not in the overlay.
            return BOX.run(['stat', '-c', '%F %a %U:%G', path]).stdout.strip()
        self.assertEqual(st('/var/lib/sessrec'), 'directory 700 root:root')
        self.assertEqual(st('/run/sessrec'), 'directory 755 root:root')
        self.assertEqual(st('/run/sessrec/sessrecd.sock'), 'socket 666 root:root')
        g = BOX.run(['getent', 'group', 'recorded']).stdout.strip().split(':')
        self.assertEqual((g[0], g[3]), ('recorded', ''))
        self.assertLess(int(g[2]), 1000, 'not a system group: %r' % g)
        conffiles = BOX.run(['dpkg-query', '-W', '-f', '${Conffiles}\n', 'sessrec']).stdout.split()
        self.assertEqual(sorted(c for c in conffiles if c.startswith('/')),
                         ['/etc/sessrec/sessrecd.conf', '/etc/ssh/sshd_config.d/sessrec.conf'])
        self.assertEqual(h.read_text(BOX.path('/etc/sessrec/sessrecd.conf')),
                         h.read_text(os.path.join(h.SRC, 'conf/sessrecd.conf')))
        arch = BOX.run(['dpkg-architecture', '-qDEB_HOST_MULTIARCH']).stdout.strip()
        module = '/lib/%s/security/pam_sessrec.so' % arch
        self.assertIn(module, BOX.run(['dpkg', '-L', 'libpam-sessrec']).stdout.split('\n'))
        self.assertEqual(st(module), 'regular file 644 root:root')
        profile = h.read_text(BOX.path('/usr/share/pam-configs/sessrec'))
        self.assertEqual(profile, h.read_text(os.path.join(h.SRC, 'conf/pam-configs/sessrec')))
        # Registered but off until the administrator enables it.
        self.assertNotIn('pam_sessrec', h.read_text(BOX.path('/etc/pam.d/common-session')))
        for page in ('sessrecd', 'sessrec-shell', 'sessrecctl', 'sessrecd.conf', 'sessrec-shards', 'pam_sessrec'):
            r = BOX.run(['man', '-w', page], check=False)
            self.assertRegex(r.stdout.strip(), r'^/usr/share/man/man[158]/%s\.[158]\.gz$' % re.escape(page))
        self.assertTrue(os.path.isfile(BOX.path('/usr/share/bash-completion/completions/sessrecctl')))
        r = BOX.run(['bash', '-c', '. /usr/share/bash-completion/completions/sessrecctl; complete -p sessrecctl'])
        self.assertIn('sessrecctl', r.stdout)

    def test_retention_under_systemd(self):
        shards = BOX.path('/var/lib/sessrec')
        old, _ = tr.session_text(40, 'olduser')
        held, held_sid = tr.session_text(41, 'holduser')
        mid, _ = tr.session_text(10, 'miduser')
        paths = {ago: tr.write_shard(shards, ago, text) for ago, text in ((40, old), (41, held), (10, mid))}
        conf_d = BOX.path('/etc/sessrec/sessrecd.conf.d')
        os.makedirs(conf_d, exist_ok=True)
        with open(os.path.join(conf_d, 'retention.conf'), 'w') as f:
            f.write('[Retention]\nCompressAfterDays=7\nKeepDays=30\nLegalHold=holduser\n')
        BOX.run(['systemctl', 'start', 'sessrec-retention.service'], timeout=120)
        self.assertFalse(os.path.exists(paths[40]), 'past KeepDays=: deleted')
        self.assertFalse(os.path.exists(paths[10]))
        self.assertTrue(os.path.exists(paths[10] + '.gz'), 'past CompressAfterDays=: compressed')
        self.assertTrue(os.path.exists(paths[41]) or os.path.exists(paths[41] + '.gz'), 'held: kept')
        r = BOX.run(['sessrecctl', 'show', held_sid[:8]], check=False)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn('holduser', r.stdout)
        log = BOX.run(['journalctl', '--no-pager', '-o', 'cat', '-u', 'sessrec-retention.service']).stdout
        self.assertIn('shard_deleted', log)
        self.assertIn('shard_compressed', log)


if __name__ == '__main__':
    h.in_private_mount_ns()
    nf.skip_unless_possible()
    unittest.main(verbosity=2)
