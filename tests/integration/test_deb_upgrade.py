"""Upgrade, remove and purge under the real systemd (nspawnfix), with a
recorded ssh login live (the user enrolled as README says):
- `dpkg -i` of a higher version (the same tree, built again by
  scripts/build-deb --also) in the middle of the login: the new package's
  postinst restarts the daemon with the new binary, the client stays
  connected, the shell gets no SIGHUP, the recording is byte-for-byte what
  the client showed, with the gap marker;
- remove with the login still live: the removal says the live sessions
  end, the client's connection closes, the recording gets its end line
  (reason "shutdown"); the enrolled user has the real login shell back
  and logs in again, unrecorded;
- purge: the configuration goes, the recordings stay in /var/lib/sessrec
  and sessrecctl built from source reads them.
Skipped (77) where nspawn cannot run."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
import harness_deb as hd  # noqa: E402
import harness_survive as hs  # noqa: E402
import nspawnfix as nf  # noqa: E402

BOX = None


def setUpModule():
    global BOX
    BOX = hd.Box()
    BOX.install(hd.tree_version())
    BOX.enroll()


def tearDownModule():
    if BOX:
        BOX.cleanup()


def runs_file(pid, path):
    """Whether pid runs the file now at path (not an older, replaced one)."""
    a, b = os.stat('/proc/%d/exe' % pid), os.stat(path)
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


class Upgrade(unittest.TestCase):
    def test_upgrade_remove_purge(self):
        p, sid, hup = BOX.recorded_login(self)
        old = BOX.main_pid('sessrecd.service')
        self.assertTrue(old)

        # Upgrade in the middle of the login.
        p.send('for i in $(seq 1 40); do echo up-$i; sleep 0.1; done\r')
        p.expect(rb'up-3\r\n')
        r = BOX.dpkg_i(hd.upgrade_version())
        print(r.stdout, r.stderr, flush=True)
        p.expect(rb'up-40\r\n', 60)
        p.expect(h.PROMPT_RX)
        self.assertEqual(hs.numbers(p.out, 'up-'), list(range(1, 41)))
        for pkg in ('sessrec', 'libpam-sessrec'):
            self.assertEqual(BOX.installed_version(pkg), 'install ok installed ' + hd.upgrade_version())
        new = BOX.main_pid('sessrecd.service')
        self.assertTrue(new and new != old, 'the upgrade did not restart sessrecd (%s, %s)' % (old, new))
        self.assertTrue(runs_file(new, BOX.path('/usr/sbin/sessrecd')), 'not the new binary')
        p.send('echo after-upgrade\r')
        p.expect(rb'after-upgrade\r\n')
        p.expect(h.PROMPT_RX)
        self.assertFalse(os.path.exists(hup), 'the shell got SIGHUP')
        lines = BOX.lines()
        hs.check_recording(self, lines, sid, p.out, 1, 'after the upgrade')

        # Remove, the login still live: it ends, its recording is closed.
        r = BOX.run(['apt-get', 'remove', '-y', '-qq', 'sessrec', 'libpam-sessrec'], timeout=180)
        print(r.stdout, r.stderr, flush=True)
        self.assertIn('every live recorded session ends now', r.stdout + r.stderr)
        self.assertIsNotNone(p.wait(20), 'the login outlived the removal')
        end = BOX.end_line(sid, 10)
        self.assertIsNotNone(end, 'no end line after the removal')
        self.assertEqual(end['end']['reason'], 'shutdown')
        lines = BOX.lines()
        hs.check_recording(self, lines, sid, p.out, 1, 'after the removal')
        self.assertEqual(BOX.installed_version('sessrec'), 'deinstall ok config-files ' + hd.upgrade_version())
        self.assertIn('%s has the login shell /bin/bash again' % hd.USER, r.stdout + r.stderr)
        self.assertEqual(BOX.run(['getent', 'passwd', hd.USER]).stdout.strip().split(':')[6], '/bin/bash')
        self.assertNotIn('sessrec-shell', h.read_text(BOX.path('/etc/shells')))
        self.assertNotIn('pam_sessrec', h.read_text(BOX.path('/etc/pam.d/common-session')))

        # The same user logs in again, unrecorded.
        q = BOX.login()
        self.addCleanup(q.finish)
        q.expect(h.PROMPT_RX, 30)
        q.send('echo "sid=[$SESSREC_SID]"\r')
        q.expect(rb'sid=\[\]\r\n')
        q.expect(h.PROMPT_RX)
        q.send('exit 3\r')
        self.assertEqual(q.wait(20), 3)
        self.assertEqual([o['sid'] for _, o in BOX.lines() if o and 'hdr' in o], [sid])

        # Purge: the configuration goes, the recordings stay.
        r = BOX.run(['dpkg', '--purge', 'sessrec', 'libpam-sessrec'])
        print(r.stdout, r.stderr, flush=True)
        self.assertIn('the recordings stay in /var/lib/sessrec', r.stdout + r.stderr)
        for gone in ('/etc/sessrec', '/etc/ssh/sshd_config.d/sessrec.conf', '/usr/sbin/sessrecd',
                     '/etc/pam.d/sessrec-sshd', '/usr/share/pam-configs/sessrec'):
            self.assertFalse(os.path.lexists(BOX.path(gone)), gone + ' left after the purge')
        self.assertEqual(BOX.installed_version('sessrec'), '')
        self.assertEqual(BOX.lines(), lines, 'the purge changed the recordings')
        r = hd.ctl('--dir', BOX.shard_dir(), 'list')
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(sid[:8].encode(), r.stdout)
        r = hd.ctl('--dir', BOX.shard_dir(), 'export', '--format', 'raw', sid)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, p.out, 'sessrecctl export differs from what the terminal got')


if __name__ == '__main__':
    h.in_private_mount_ns()
    nf.skip_unless_possible()
    unittest.main(verbosity=2)
