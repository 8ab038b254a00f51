"""The daemon's life: ProcessName is what ps shows, SIGHUP reloads the
configuration (a broken one is refused and the old one kept), SIGTERM ends
every session's recording with its end line and exits cleanly."""
import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

NAME = 'kworker-srit'


class ProcessNameTest(unittest.TestCase):
    def test_process_name(self):
        d = h.Daemon({'Daemon': {'ProcessName': NAME}})
        self.addCleanup(d.cleanup)
        with open('/proc/%d/comm' % d.pid) as f:
            self.assertEqual(f.read().strip(), NAME)
        ps = subprocess.run(['ps', '-o', 'comm=,args=', '-p', str(d.pid)], capture_output=True, text=True)
        self.assertEqual(ps.stdout.split()[:2], [NAME, NAME], 'ps shows %r' % ps.stdout)
        self.assertNotIn('sessrecd', ps.stdout, 'ps shows %r' % ps.stdout)
        # and it still works under that name
        p = h.record(d.sock, 'echo named; exit 0')
        self.addCleanup(p.finish)
        self.assertEqual(p.wait(10), 0)
        self.assertIn(b'named', p.out)


class ReloadTest(unittest.TestCase):
    def setUp(self):
        # No --syslog flag: the targets come from the file, so a reload can change them.
        self.d = h.Daemon({'Syslog': {'Targets': 'stdout'}}, syslog=None)
        self.addCleanup(self.d.cleanup)

    def session(self, tag):
        p = h.record(self.d.sock, 'echo %s; exit 0' % tag)
        self.addCleanup(p.finish)
        self.assertEqual(p.wait(10), 0)
        sids = h.sids_with_output(self.d.lines(), tag.encode())
        self.assertEqual(len(sids), 1, 'recordings of %s' % tag)
        self.assertIsNotNone(self.d.wait_end(sids[0]), 'no end line for %s' % tag)
        return sids[0]

    def reload(self, sections=None, text=None):
        if text is not None:
            with open(self.d.conf_path, 'w') as f:
                f.write(text)
        else:
            self.d.reconfigure(sections)
        before = len(self.d.output())
        self.d.p.send_signal(1)
        time.sleep(0.7)
        self.assertTrue(self.d.running(), 'sessrecd died on SIGHUP: %s' % self.d.output()[-500:])
        self.assertTrue(h.call(self.d.sock, {'op': 'ping'}).get('ok'))
        return self.d.output()[before:]

    def test_sighup_reloads_targets(self):
        a = self.session('first-a')
        self.assertEqual(len(self.d.wait_event('session_recorded', a)), 1, 'Targets=stdout not honoured')
        self.reload({'Syslog': {'Targets': 'none'}})
        b = self.session('second-b')
        time.sleep(0.5)
        self.assertEqual(self.d.events(sid=b), [], 'events after Targets=none was reloaded')
        self.reload({'Syslog': {'Targets': 'stdout'}})
        c = self.session('third-c')
        self.assertEqual(len(self.d.wait_event('session_recorded', c)), 1, 'Targets=stdout not reloaded')

    def test_broken_config_on_reload_keeps_the_old_one(self):
        said = self.reload(text='[Daemon]\nMaxSessions=banana\n[Syslog]\nTargets=none\n')
        self.assertIn(self.d.conf_path, said, 'no word about the broken configuration: %r' % said)
        a = self.session('after-broken')
        self.assertEqual(len(self.d.wait_event('session_recorded', a)), 1,
                         'the broken file was half applied (Targets=none took effect)')


class TermTest(unittest.TestCase):
    def test_sigterm_ends_every_recording(self):
        d = h.Daemon()
        self.addCleanup(d.cleanup)
        ps = []
        for n in range(3):
            p = h.record(d.sock, 'echo live-%d; exec sleep 20' % n)
            self.addCleanup(p.finish)
            p.expect(rb'live-%d\r\n' % n)
            ps.append(p)
        home = h.make_home(d.tmp)
        r = h.open_session(d.sock)
        shell = h.Pty(['-sessrec-shell'], env=h.shell_env(home, d.sock, r['token'], r['sid']),
                      exe=h.binary('sessrec-shell'), cwd=home)
        self.addCleanup(shell.finish)
        shell.expect(h.PROMPT_RX)
        t0 = time.time()
        rc = d.stop(10)
        self.assertEqual(rc, 0, 'exit status after SIGTERM: %s' % d.output()[-500:])
        self.assertLess(time.time() - t0, 5, 'SIGTERM took too long')
        lines = d.lines()
        h.check_shard_sane(self, lines)
        sids = [h.sids_with_output(lines, b'live-%d' % n) for n in range(3)] + [[r['sid']]]
        for s in sids:
            self.assertEqual(len(s), 1)
            mine = h.session_lines(lines, s[0])
            self.assertIn('end', mine[-1], 'session %s: last line %r' % (s[0], mine[-1]))
            self.assertEqual(mine[-1]['end'].get('reason'), 'shutdown', mine[-1])
            self.assertEqual(sum(1 for o in mine if 'end' in o), 1)
            self.assertEqual(len(d.events('session_recorded', s[0])), 1, 'session_recorded for %s' % s[0])


if __name__ == '__main__':
    unittest.main(verbosity=2)
