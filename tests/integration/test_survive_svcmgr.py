"""The fd-store path. systemd cannot be PID 1 on these machines, so this runs
sessrecd under tests/integration/svcmgr.py, a small service manager that
implements the documented parts of systemd's protocol ($NOTIFY_SOCKET with
FDSTORE=1/FDNAME=/FDSTOREREMOVE=1, $LISTEN_FDS/$LISTEN_FDNAMES, the store
kept across a restart and emptied by a stop); sessrecd makes its real
libsystemd calls (sd_pid_notify_with_fds, sd_listen_fds_with_names).

- A restart (SIGTERM, as `systemctl restart` sends) hands the sessions over
  instead of ending them: the store holds "<sid>-outer"/"<sid>-inner", the
  next start resumes them, nobody is hung up, the recording is whole with
  one gap marker; no keeper runs under the fd store.
- A crash (SIGKILL, then a start as Restart=on-failure does) resumes too.
- An ended session is removed from the store (FDSTOREREMOVE=1).
- A stop empties the store: the shells are hung up, and the next start
  ends their recordings as lost, naming each sid.
- SIGINT ends every session cleanly (end lines) and empties the store."""
import os
import signal
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
import harness_survive as hs  # noqa: E402
from svcmgr import ServiceManager  # noqa: E402


class SvcmgrTest(hs.Sessions, unittest.TestCase):
    def setUp(self):
        self.tmp = h.tmpdir()
        self.sock = os.path.join(self.tmp, 's.sock')
        self.shards = os.path.join(self.tmp, 'shards')
        self.state = os.path.join(self.tmp, 'state')
        conf = os.path.join(self.tmp, 'd.conf')
        h.write_config(conf, {'Daemon': {'StateDirectory': self.state}})
        self.log = open(os.path.join(self.tmp, 'daemon.out'), 'ab')
        self.addCleanup(self.log.close)
        argv = [h.binary('sessrecd'), '--foreground', '--config', conf, '--shard-dir', self.shards,
                '--syslog', 'stdout']
        self.sm = ServiceManager(argv, self.sock, self.tmp, log=self.log)
        self.addCleanup(self.sm.close)
        self.assertTrue(self.sm.start(), 'no READY=1: ' + self.output()[-500:])
        self.hup = os.path.join(self.tmp, 'hup')

    def output(self):
        with open(self.log.name, 'rb') as f:
            return f.read().decode('utf-8', 'replace')

    def lines(self):
        return h.shard_lines(self.shards)

    def wait_end(self, sid, timeout=10):
        def end():
            for o in h.session_lines(self.lines(), sid):
                if 'end' in o:
                    return o
            return None
        return h.wait_for(end, timeout)

    def stored(self, sid):
        return sorted(n for n in self.sm.stored_names() if n.startswith(sid))

    def test_restart_hands_over(self):
        p = self.session(hs.ticker(self.hup, 30))
        p.expect(rb'tick3\r\n')
        sid = self.sid_of('tick1')
        self.assertEqual(h.wait_for(lambda: self.stored(sid), 5), [sid + '-inner', sid + '-outer', sid + '-state'],
                         'the store: %r' % self.sm.stored_names())
        self.assertIsNone(hs.keeper_of(self.sm.pid, 0.3), 'a keeper runs under the fd store')
        self.assertTrue(self.sm.restart(), 'no READY=1 after the restart: ' + self.output()[-500:])
        self.assertIn('handed over to the next start', self.output())
        self.assertEqual(p.wait(20), 0, p.out[-300:])
        self.assertFalse(os.path.exists(self.hup), 'the shell got SIGHUP')
        self.assertEqual(hs.numbers(p.out, 'tick'), list(range(1, 31)))
        end = self.wait_end(sid)
        self.assertIsNotNone(end)
        self.assertEqual(end['end']['reason'], 'exit')
        lines = self.lines()
        h.check_shard_sane(self, lines)
        hs.check_recording(self, lines, sid, p.out, 1)
        self.assertEqual(h.wait_for(lambda: self.sm.stored_names() == [], 5), True,
                         'the store kept an ended session: %r' % self.sm.stored_names())
        self.assertEqual(h.call(self.sock, {'op': 'list'}).get('resumed'), 1)

    def test_crash_resumes(self):
        p = self.session(hs.ticker(self.hup, 30))
        p.expect(rb'tick3\r\n')
        sid = self.sid_of('tick1')
        h.wait_for(lambda: self.stored(sid), 5)
        self.sm.stop(signal.SIGKILL)
        self.assertTrue(self.sm.start())
        self.assertEqual(p.wait(20), 0, p.out[-300:])
        self.assertFalse(os.path.exists(self.hup))
        self.assertIsNotNone(self.wait_end(sid))
        hs.check_recording(self, self.lines(), sid, p.out, 1)
        self.assertEqual(h.wait_for(lambda: self.sm.stored_names() == [], 5), True)

    def test_stop_empties_the_store(self):
        p = self.session(hs.ticker(self.hup, 300))
        p.expect(rb'tick3\r\n')
        sid = self.sid_of('tick1')
        h.wait_for(lambda: self.stored(sid), 5)
        self.assertEqual(self.sm.stop_unit(), 0)
        self.assertTrue(h.wait_for(lambda: os.path.exists(self.hup), 5), 'the shell outlived the stop')
        self.assertIsNone(self.wait_end(sid, 0.5), 'an end line before the next start')
        self.assertTrue(self.sm.start())
        end = self.wait_end(sid)
        self.assertIsNotNone(end, 'the next start did not end the recording')
        self.assertEqual(end['end']['reason'], 'lost')
        self.assertIn('session %s:' % sid, self.output())

    def test_sigint_ends_sessions(self):
        p = self.session(hs.ticker(self.hup, 300))
        p.expect(rb'tick3\r\n')
        sid = self.sid_of('tick1')
        h.wait_for(lambda: self.stored(sid), 5)
        self.assertEqual(self.sm.stop(signal.SIGINT), 0)
        end = self.wait_end(sid)
        self.assertIsNotNone(end)
        self.assertEqual(end['end']['reason'], 'shutdown')
        self.assertEqual(self.sm.stored_names(), [], 'SIGINT left fds in the store')
        self.assertTrue(h.wait_for(lambda: os.path.exists(self.hup), 5), 'the shell was not hung up')


if __name__ == '__main__':
    unittest.main()
