"""Trust of the shard directory (issue 10, items 8 and 5): sessrecd refuses
to start, with one line on stderr and exit 1, when the shard directory or a
parent is not root-owned or is group/other-writable (a sticky root-owned
parent like /tmp is accepted); a reload that finds it so keeps the running
configuration and logs the line; at a session start an existing day shard
that is a symlink, has two links, is not root-owned or is more open than
0640 is not used: the attach is refused with an attach_refused event and
the file is left as it was. At start-up and reload the daemon warns (a log
line and a shard_dir_unsafe event) when the shard directory shares the
filesystem of /tmp, /var/tmp, /dev/shm or /home, and not on a private
tmpfs."""
import os
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

NOBODY = 65534


def day_shard(shards):
    return os.path.join(shards, time.strftime('sessions-%Y-%m-%d.jsonl', time.gmtime()))


class StartupTest(unittest.TestCase):
    def daemon(self):
        d = h.Daemon(start=False)
        self.addCleanup(d.cleanup)
        return d

    def refused(self, d, needle):
        """Starts d, which must exit 1 with one line naming the problem."""
        d.start(wait=False)
        rc = d.p.wait(10)
        out = d.output()
        self.assertEqual(rc, 1, out)
        lines = [ln for ln in out.splitlines() if 'untrusted shard directory' in ln]
        self.assertEqual(len(lines), 1, out)
        self.assertIn(needle, lines[0])
        self.assertFalse(os.path.exists(d.sock))

    def test_group_writable_dir_refused(self):
        d = self.daemon()
        os.mkdir(d.shards, 0o700)
        os.chmod(d.shards, 0o770)
        self.refused(d, '%s is writable by group or others (mode 0770)' % d.shards)

    def test_user_owned_dir_refused(self):
        d = self.daemon()
        os.mkdir(d.shards, 0o700)
        os.chown(d.shards, NOBODY, NOBODY)
        self.refused(d, '%s is owned by uid %d, not root' % (d.shards, NOBODY))

    def test_group_writable_parent_refused(self):
        d = self.daemon()
        parent = os.path.join(d.tmp, 'p')
        os.mkdir(parent)
        os.chmod(parent, 0o775)
        d.argv[d.argv.index('--shard-dir') + 1] = d.shards = os.path.join(parent, 'shards')
        self.refused(d, '%s is writable by group or others (mode 0775)' % parent)

    def test_user_owned_parent_refused(self):
        d = self.daemon()
        parent = os.path.join(d.tmp, 'p')
        os.mkdir(parent, 0o755)
        os.chown(parent, NOBODY, NOBODY)
        d.argv[d.argv.index('--shard-dir') + 1] = d.shards = os.path.join(parent, 'shards')
        self.refused(d, '%s is owned by uid %d, not root' % (parent, NOBODY))

    def test_sticky_root_parent_accepted(self):
        d = self.daemon()
        parent = os.path.join(d.tmp, 'sticky')
        os.mkdir(parent)
        os.chmod(parent, 0o1777)
        d.argv[d.argv.index('--shard-dir') + 1] = d.shards = os.path.join(parent, 'shards')
        d.start()
        p = h.record(d.sock, 'echo STICKY-OK')
        self.addCleanup(p.finish)
        p.expect(rb'STICKY-OK\r\n')
        self.assertEqual(p.wait(20), 0)
        self.assertTrue(h.wait_for(lambda: h.sids_with_output(d.lines(), b'STICKY-OK'), 5))

    def test_sticky_dir_itself_refused(self):
        d = self.daemon()
        os.mkdir(d.shards)
        os.chmod(d.shards, 0o1777)
        self.refused(d, '%s is writable by group or others (mode 1777)' % d.shards)


class ShardFileTest(unittest.TestCase):
    def setUp(self):
        self.d = h.Daemon()
        self.addCleanup(self.d.cleanup)
        self.path = day_shard(self.d.shards)

    def not_used(self, needle, untouched):
        """A session now is refused; the daemon says why; untouched (a
        path) keeps its bytes."""
        with open(untouched, 'rb') as f:
            before = f.read()
        p = h.record(self.d.sock, 'echo SHOULD-NOT-BE-RECORDED')
        self.addCleanup(p.finish)
        p.wait(20)
        ev = self.d.wait_event('attach_refused')
        self.assertEqual(len(ev), 1, self.d.output()[-1500:])
        self.assertIn('cannot write recordings', ev[0]['sd']['relay@55555']['reason'])
        lines = [ln for ln in self.d.output().splitlines() if 'untrusted shard %s' % self.path in ln]
        self.assertEqual(len(lines), 1, self.d.output()[-1500:])
        self.assertIn(needle, lines[0])
        with open(untouched, 'rb') as f:
            self.assertEqual(f.read(), before)
        self.assertTrue(self.d.running())

    def test_symlinked_shard_not_used(self):
        target = os.path.join(self.d.tmp, 'elsewhere')
        with open(target, 'wb') as f:
            f.write(b'victim\n')
        os.symlink(target, self.path)
        self.not_used('a symbolic link', target)

    def test_hard_linked_shard_not_used(self):
        other = os.path.join(self.d.tmp, 'other')
        with open(other, 'wb') as f:
            f.write(b'victim\n')
        os.chmod(other, 0o640)
        os.link(other, self.path)
        self.not_used('2 links, not 1', other)

    def test_world_readable_shard_not_used(self):
        with open(self.path, 'wb'):
            pass
        os.chmod(self.path, 0o644)
        self.not_used('mode 0644, not 0640 or stricter', self.path)

    def test_user_owned_shard_not_used(self):
        with open(self.path, 'wb'):
            pass
        os.chmod(self.path, 0o640)
        os.chown(self.path, NOBODY, NOBODY)
        self.not_used('owned by uid %d, not root' % NOBODY, self.path)

    def test_strict_shard_used(self):
        with open(self.path, 'wb'):
            pass
        os.chmod(self.path, 0o600)
        p = h.record(self.d.sock, 'echo STRICT-OK')
        self.addCleanup(p.finish)
        p.expect(rb'STRICT-OK\r\n')
        self.assertEqual(p.wait(20), 0)
        self.assertTrue(h.wait_for(lambda: h.sids_with_output(self.d.lines(), b'STRICT-OK'), 5))
        self.assertEqual(self.d.events('attach_refused'), [])


class ReloadTest(unittest.TestCase):
    def test_reload_keeps_running_configuration(self):
        d = h.Daemon()
        self.addCleanup(d.cleanup)
        os.chmod(d.shards, 0o777)
        d.reconfigure({'Daemon': {'MaxSessions': '1'}})
        d.p.send_signal(signal.SIGHUP)
        line = 'reload: untrusted shard directory %s: %s is writable by group or others (mode 0777); ' \
            'the running configuration stays' % (d.shards, d.shards)
        self.assertTrue(h.wait_for(lambda: line in d.output(), 5), d.output()[-1500:])
        self.assertTrue(d.running())
        # MaxSessions=1 was not taken: two sessions at once still record.
        os.chmod(d.shards, 0o700)
        a = h.record(d.sock, 'echo A-UP; read x; echo A-BYE')
        self.addCleanup(a.finish)
        a.expect(rb'A-UP\r\n')
        b = h.record(d.sock, 'echo B-UP')
        self.addCleanup(b.finish)
        b.expect(rb'B-UP\r\n')
        self.assertEqual(b.wait(20), 0)
        a.send('x\r')
        a.expect(rb'A-BYE\r\n')
        self.assertEqual(a.wait(20), 0)
        self.assertTrue(h.wait_for(lambda: h.sids_with_output(d.lines(), b'B-UP'), 5))
        self.assertEqual(d.events('session_skipped'), [])
        # Fixed: the next reload is taken.
        d.p.send_signal(signal.SIGHUP)
        self.assertTrue(h.wait_for(lambda: 'configuration reloaded' in d.output(), 5), d.output()[-1500:])


class SharedFilesystemTest(unittest.TestCase):
    def test_warns_on_tmp(self):
        d = h.Daemon()
        self.addCleanup(d.cleanup)
        ev = d.wait_event('shard_dir_unsafe')
        self.assertEqual(len(ev), 1, d.output()[-1500:])
        sd = ev[0]['sd']['relay@55555']
        self.assertEqual((sd['shard_dir'], sd['shared_with']), (d.shards, '/tmp'))
        self.assertIn('warning: shard directory %s is on the filesystem of /tmp' % d.shards, d.output())
        d.p.send_signal(signal.SIGHUP)
        self.assertEqual(len(d.wait_event('shard_dir_unsafe', count=2)), 2, d.output()[-1500:])

    def test_quiet_on_own_filesystem(self):
        d = h.Daemon(start=False)
        self.addCleanup(d.cleanup)
        h.mount_tmpfs(d.shards, '0700')
        self.addCleanup(subprocess.run, ['umount', '-l', d.shards])
        d.start()
        p = h.record(d.sock, 'echo OWN-FS')
        self.addCleanup(p.finish)
        p.expect(rb'OWN-FS\r\n')
        self.assertEqual(p.wait(20), 0)
        self.assertEqual(d.events('shard_dir_unsafe'), [])
        self.assertNotIn('users can fill it', d.output())


if __name__ == '__main__':
    h.in_private_mount_ns()
    unittest.main()
