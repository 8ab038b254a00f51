"""SIGUSR2 re-executes sessrecd in place, the upgrade path without systemd.
What runs next is the file now at the path the daemon was started from (a
wrapper put there records that it ran); the pid, the listening socket and
the keeper stay; every session goes on without a hangup, its output around
the exec recorded byte-for-byte with one gap marker, and bytes the daemon
held for a terminal that was not reading are handed across and delivered
exactly once. An exec that fails (the file replaced by one the kernel
cannot run, or removed) leaves the daemon running with every session as it
was, still recording."""
import os
import shutil
import signal
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
import harness_survive as hs  # noqa: E402


class ReexecTest(hs.Sessions, unittest.TestCase):
    def setUp(self):
        self.d = h.Daemon(start=False)
        self.addCleanup(self.d.cleanup)
        self.sock, self.lines = self.d.sock, self.d.lines
        bindir = os.path.join(self.d.tmp, 'bin')
        os.mkdir(bindir)
        self.bin = os.path.join(bindir, 'sessrecd')
        shutil.copy2(h.binary('sessrecd'), self.bin)
        self.d.argv[0] = self.bin
        self.d.start()
        self.pid = self.d.pid
        self.keeper = hs.keeper_of(self.pid)
        self.assertIsNotNone(self.keeper)
        self.addCleanup(hs.wait_gone, self.keeper, 5)
        self.hup = os.path.join(self.d.tmp, 'hup')

    def replace_binary(self, content, mode=0o755):
        tmp = self.bin + '.new'
        with open(tmp, 'wb') as f:
            f.write(content)
        os.chmod(tmp, mode)
        os.rename(tmp, self.bin)   # as a package upgrade does: a new inode at the path

    def usr2(self, said):
        before = len(self.d.output())
        os.kill(self.pid, signal.SIGUSR2)
        self.assertTrue(h.wait_for(lambda: said in self.d.output()[before:], 5),
                        'no %r after SIGUSR2: %r' % (said, self.d.output()[before:]))
        return self.d.output()[before:]

    def test_upgrade_keeps_sessions(self):
        mark = os.path.join(self.d.tmp, 'ran')
        sock_ino = os.stat(self.d.sock).st_ino
        p = self.session(hs.ticker(self.hup, 30))
        p.expect(rb'tick5\r\n')
        sid = self.sid_of('tick1')
        self.replace_binary(b'#!/bin/sh\necho ran >> %s\nexec %s "$@"\n'
                            % (mark.encode(), h.binary('sessrecd').encode()))
        self.usr2('resumed 1 session')
        self.assertTrue(os.path.exists(mark), 'the file at the start path did not run')
        self.assertTrue(self.d.running(), 'the daemon exited')
        self.assertEqual(h.call(self.d.sock, {'op': 'ping'}).get('pid'), self.pid)
        self.assertEqual(os.stat(self.d.sock).st_ino, sock_ino, 'the socket was made anew')
        self.assertEqual(hs.comm(self.pid), 'sessrecd')
        self.assertEqual(hs.keeper_of(self.pid, 1), self.keeper, 'the keeper changed')
        self.assertEqual(p.wait(20), 0, p.out[-300:])
        self.assertFalse(os.path.exists(self.hup), 'the shell got SIGHUP')
        self.assertEqual(hs.numbers(p.out, 'tick'), list(range(1, 31)))
        self.assertIsNotNone(self.d.wait_end(sid))
        lines = self.d.lines()
        h.check_shard_sane(self, lines)
        hs.check_recording(self, lines, sid, p.out, 1)
        self.assertEqual(h.call(self.d.sock, {'op': 'list'}).get('resumed'), 1)
        # twice more: the count carries across each exec
        q = self.session(hs.ticker(self.hup, 20, tag='tock'))
        q.expect(rb'tock2\r\n')
        self.usr2('resumed 1 session')
        q.expect(rb'tock4\r\n')
        self.usr2('resumed 1 session')
        self.assertEqual(q.wait(20), 0)
        self.assertEqual(h.call(self.d.sock, {'op': 'list'}).get('resumed'), 3)
        sid2 = self.sid_of('tock1')
        self.assertIsNotNone(self.d.wait_end(sid2))
        hs.check_recording(self, self.d.lines(), sid2, q.out, 2)
        self.assertEqual(self.d.stop(), 0)

    def test_pending_output_crosses_the_exec(self):
        n = 60000
        p = self.session('seq 1 %d; echo seq-done' % n)
        # Nobody reads the terminal: the daemon's buffer for it fills.
        time.sleep(1.0)
        self.usr2('resumed 1 session')
        self.assertEqual(p.wait(30), 0)
        want = b''.join(b'%d\r\n' % i for i in range(1, n + 1)) + b'seq-done\r\n'
        self.assertEqual(len(p.out), len(want), 'terminal got %d bytes, not %d' % (len(p.out), len(want)))
        self.assertEqual(p.out, want, 'the terminal lost or repeated bytes across the exec')
        sid = self.sid_of('seq-done')
        self.assertIsNotNone(self.d.wait_end(sid))
        hs.check_recording(self, self.d.lines(), sid, p.out, 1)

    def test_failed_exec_keeps_running(self):
        p = self.session(hs.ticker(self.hup, 30, tag='tuck'))
        p.expect(rb'tuck3\r\n')
        sid = self.sid_of('tuck1')
        self.replace_binary(b'\x7fELF garbage, not a program\n')
        said = self.usr2('still running')
        self.assertIn('cannot re-execute', said)
        p.expect(rb'tuck8\r\n')
        os.unlink(self.bin)
        said = self.usr2('still running')
        self.assertIn('cannot run %s' % self.bin, said)
        self.assertTrue(self.d.running())
        self.assertEqual(h.call(self.d.sock, {'op': 'ping'}).get('pid'), self.pid)
        other = self.session('echo other-session; exit 0')
        self.assertEqual(other.wait(10), 0)
        self.assertEqual(p.wait(20), 0)
        self.assertFalse(os.path.exists(self.hup))
        self.assertEqual(hs.numbers(p.out, 'tuck'), list(range(1, 31)))
        self.assertIsNotNone(self.d.wait_end(sid))
        lines = self.d.lines()
        hs.check_recording(self, lines, sid, p.out, 0)
        self.assertEqual(len(h.sids_with_output(lines, b'other-session')), 1, 'no recording after a failed exec')
        self.assertEqual(h.call(self.d.sock, {'op': 'list'}).get('resumed'), 0)
        self.assertEqual(self.d.stop(), 0)


if __name__ == '__main__':
    unittest.main()
