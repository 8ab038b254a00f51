"""kill -9 of sessrecd mid-session, then a new start on the same paths (no
service manager: the keeper path). The keeper the first daemon started
holds every session's fds meanwhile, so nobody is hung up (the shell traps
SIGHUP into a file, which stays empty); output written during the gap
waits in the inner pty, input typed during it waits in the outer tty; the
next daemon takes the fds from the keeper and resumes: the recording has
every byte before, during and after the gap, in order, exactly as the
terminal got them, and one m marker with the gap. The keeper is a root
process named sessrecd-keeper whose socket is 0600 and closed to other
users, and which the user cannot signal. A session attached as soon as a
fresh daemon's socket exists (the keeper not waited for) survives too. A
state file without fds (keeper killed too) ends its recording as lost; fds
without a state file are closed; both are reported with the sid."""
import os
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
import harness_survive as hs  # noqa: E402


class CrashTest(hs.Sessions, unittest.TestCase):
    def setUp(self):
        self.d = h.Daemon()
        self.addCleanup(self.d.cleanup)
        self.sock, self.lines = self.d.sock, self.d.lines
        self.keeper = hs.keeper_of(self.d.pid)
        self.assertIsNotNone(self.keeper, 'the daemon started no keeper')
        self.addCleanup(self.reap_keeper)
        self.hup = os.path.join(self.d.tmp, 'hup')

    def reap_keeper(self):
        if self.keeper and h.alive(self.keeper):
            os.kill(self.keeper, signal.SIGKILL)
        hs.wait_gone(self.keeper, 5)

    def test_kill9_mid_session(self):
        base_fds = h.fd_count(self.keeper)
        p = self.session(hs.ticker(self.hup, 30, then='read x; echo got:$x; exit 0'))
        p.expect(rb'tick5\r\n')
        sid = self.sid_of('tick1')
        self.assertEqual(h.wait_for(lambda: h.fd_count(self.keeper) == base_fds + 3, 5), True,
                         'the keeper does not hold the session\'s three fds (ttys, relay state)')
        hs.kill9(self.d)
        time.sleep(0.5)                 # ticks pile up in the inner pty
        p.send('hello\r')               # typed while no daemon runs
        time.sleep(0.3)
        self.d.start()
        self.assertEqual(hs.keeper_of(self.d.pid, 0.5), None, 'a second keeper was started')
        self.assertTrue(h.alive(self.keeper), 'the keeper went away')
        self.assertEqual(p.wait(20), 0, 'the session did not end well: %r' % p.out[-300:])
        self.assertFalse(os.path.exists(self.hup), 'the shell got SIGHUP')
        self.assertEqual(hs.numbers(p.out, 'tick'), list(range(1, 31)), 'ticks on the terminal')
        self.assertIn(b'got:hello', p.out, 'input typed during the gap was lost')
        self.assertIsNotNone(self.d.wait_end(sid), 'no end line')
        lines = self.d.lines()
        h.check_shard_sane(self, lines)
        hs.check_recording(self, lines, sid, p.out, 1)
        self.assertIn(b'hello\r', h.channel_bytes(lines, sid, 'i'), 'the input of the gap is not recorded')
        gap = hs.gap_markers(lines, sid)[0]
        self.assertTrue(0.7 <= gap < 10, 'gap marker says %.3f s' % gap)
        self.assertEqual(len(self.d.wait_event('session_resumed', sid)), 1, 'session_resumed events')
        # status counts it; the keeper let go of the ended session
        st = subprocess.run([h.binary('sessrecctl'), 'status', '--socket', self.d.sock],
                            capture_output=True, text=True, timeout=10)
        self.assertIn('1 resumed', st.stdout, 'sessrecctl status: %r %r' % (st.stdout, st.stderr))
        self.assertEqual(h.wait_for(lambda: h.fd_count(self.keeper) == base_fds, 5), True,
                         'the keeper kept fds of an ended session: %r' % h.fd_targets(self.keeper))
        # a clean stop with no session left: the keeper goes too
        self.assertEqual(self.d.stop(), 0)
        self.assertTrue(hs.wait_gone(self.keeper, 5), 'the keeper outlived a clean stop')

    def test_kill9_just_after_start(self):
        # The daemon does not wait for its keeper to listen (it is started
        # while the tracer loads): a session attached as soon as the socket
        # exists is held all the same, and survives a kill -9.
        self.assertEqual(self.d.stop(), 0)
        self.assertTrue(hs.wait_gone(self.keeper, 5), 'the keeper outlived a clean stop')
        self.d.start(wait=False)
        self.assertTrue(h.wait_for(lambda: os.path.exists(self.sock), 10, 0.001), self.d.output()[-500:])
        p = self.session(hs.ticker(self.hup, 10, then='exit 0'))
        p.expect(rb'tick1\r\n')
        sid = self.sid_of('tick1')
        self.keeper = hs.keeper_of(self.d.pid)
        self.assertIsNotNone(self.keeper, 'the daemon started no keeper')
        hs.kill9(self.d)
        time.sleep(0.3)
        self.d.start()
        self.assertEqual(p.wait(20), 0, 'the session did not end well: %r' % p.out[-300:])
        self.assertFalse(os.path.exists(self.hup), 'the shell got SIGHUP')
        self.assertEqual(hs.numbers(p.out, 'tick'), list(range(1, 11)), 'ticks on the terminal')
        self.assertIsNotNone(self.d.wait_end(sid), 'no end line')
        hs.check_recording(self, self.d.lines(), sid, p.out, 1)

    def test_keeper_is_root_and_closed_to_users(self):
        self.assertEqual(hs.proc_uid(self.keeper), 0)
        self.assertEqual(hs.comm(self.keeper), hs.KEEPER)
        path = self.d.sock + '.keeper'
        st = os.lstat(path)
        self.assertEqual((st.st_uid, st.st_mode & 0o7777), (0, 0o600), 'keeper socket owner/mode')
        pw = h.test_user()
        probe = ("import os, socket, sys\n"
                 "s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)\n"
                 "try:\n    s.connect(sys.argv[1]); print('connected')\n"
                 "except OSError as e: print('refused', e.errno)\n"
                 "try:\n    os.kill(int(sys.argv[2]), 9); print('killed')\n"
                 "except OSError as e: print('not killed', e.errno)\n")
        r = subprocess.run(['/usr/bin/python3', '-c', probe, path, str(self.keeper)], capture_output=True,
                           text=True, timeout=10, user=pw.pw_uid, group=pw.pw_gid, extra_groups=[])
        self.assertIn('refused', r.stdout, r.stdout + r.stderr)
        self.assertIn('not killed', r.stdout, r.stdout + r.stderr)
        self.assertTrue(h.alive(self.keeper))

    def test_keeper_killed_too_ends_recording_as_lost(self):
        p = self.session(hs.ticker(self.hup, 100))
        p.expect(rb'tick3\r\n')
        sid = self.sid_of('tick1')
        hs.kill9(self.d)
        os.kill(self.keeper, signal.SIGKILL)
        hs.wait_gone(self.keeper, 5)
        # nobody holds the inner master any more: the shell is hung up
        self.assertTrue(h.wait_for(lambda: os.path.exists(self.hup), 5), 'no SIGHUP without any holder')
        self.d.start()
        self.keeper = hs.keeper_of(self.d.pid)
        end = self.d.wait_end(sid)
        self.assertIsNotNone(end, 'no end line for the lost session')
        self.assertEqual(end['end'].get('reason'), 'lost', end)
        self.assertIn('session %s:' % sid, self.d.output())
        self.assertIn('reason lost', self.d.output())
        self.assertEqual(self.d.events('session_resumed', sid), [])
        self.assertFalse(os.path.exists(os.path.join(self.d.state, sid)), 'the state file stayed')

    def test_fds_without_state_are_closed(self):
        p = self.session(hs.ticker(self.hup, 100))
        p.expect(rb'tick3\r\n')
        sid = self.sid_of('tick1')
        base = h.fd_count(self.keeper) - 3
        hs.kill9(self.d)
        os.unlink(os.path.join(self.d.state, sid))
        self.d.start()
        self.assertTrue(h.wait_for(lambda: 'session %s: fds were handed over without a state file' % sid
                                   in self.d.output(), 5), self.d.output()[-500:])
        self.assertTrue(h.wait_for(lambda: os.path.exists(self.hup), 5), 'the shell was not hung up')
        self.assertEqual(h.wait_for(lambda: h.fd_count(self.keeper) == base, 5), True,
                         'the keeper still holds the fds: %r' % h.fd_targets(self.keeper))
        ttys = [t for t in h.fd_targets(self.d.pid).values() if t.startswith(('/dev/pts', '/dev/ptmx'))]
        self.assertEqual(ttys, [], 'the daemon kept terminal fds')


if __name__ == '__main__':
    unittest.main()
