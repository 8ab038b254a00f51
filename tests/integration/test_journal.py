"""Events to a real systemd-journald, run in a private mount namespace on
tmpfs (/run/systemd, /run/log, /var/log/journal): `journalctl -o json
SESSREC_SID=...` shows each event with its SESSREC_* fields, a fixed
MESSAGE_ID per event type, sent by the daemon's pid; with `--syslog
journal,stdout` the same events also reach stdout."""
import json
import os
import re
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

JOURNALD = '/lib/systemd/systemd-journald'
JOURNAL_DIR = '/run/log/journal'

if __name__ == '__main__' and os.path.exists(JOURNALD):
    h.in_private_mount_ns()


def journal(sid):
    r = subprocess.run(['journalctl', '-D', JOURNAL_DIR, '-o', 'json', '--no-pager', 'SESSREC_SID=' + sid],
                       capture_output=True, text=True, timeout=30)
    out = []
    for line in r.stdout.splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            pass
    return out


@unittest.skipUnless(os.path.exists(JOURNALD), 'systemd-journald not installed')
class JournalTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if os.environ.get('SESSREC_IN_MOUNT_NS') != '1':
            raise unittest.SkipTest('run as a script: it needs its own mount namespace')
        for d in ('/run/systemd', '/run/log', '/var/log/journal'):
            h.mount_tmpfs(d)
        cls.jd_out = open('/tmp/srit-journald-%d.out' % os.getpid(), 'wb')
        cls.jd = subprocess.Popen([JOURNALD], stdout=cls.jd_out, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL)
        h.register(cls.jd.pid, 'systemd-journald')
        if not h.wait_for(lambda: os.path.exists('/run/systemd/journal/socket'), 10):
            raise RuntimeError('systemd-journald created no socket')
        cls.d = h.Daemon(syslog='journal,stdout')

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()
        cls.jd.send_signal(signal.SIGTERM)
        try:
            cls.jd.wait(10)
        except subprocess.TimeoutExpired:
            cls.jd.kill()
            cls.jd.wait()
        h.forget(cls.jd.pid)
        cls.jd_out.close()
        os.unlink(cls.jd_out.name)

    def entries(self, sid, want):
        got = h.wait_for(lambda: (lambda e: e if set(want) <= {x.get('SESSREC_EVENT') for x in e} else None)(
            journal(sid)), 10)
        self.assertIsNotNone(got, 'journal has no %s for %s: %r; daemon said: %s'
                             % (want, sid, journal(sid), self.d.output()[-500:]))
        return got

    def recorded_session(self, tag):
        p = h.record(self.d.sock, 'echo %s; exit 0' % tag)
        self.addCleanup(p.finish)
        self.assertEqual(p.wait(10), 0)
        sids = h.sids_with_output(self.d.lines(), tag.encode())
        self.assertEqual(len(sids), 1)
        return sids[0]

    def check_entry(self, e, sid):
        self.assertEqual(e.get('SESSREC_SID'), sid)
        self.assertRegex(e.get('MESSAGE_ID', ''), r'^[0-9a-f]{32}$')
        self.assertEqual(e.get('_PID'), str(self.d.pid), 'not sent by sessrecd')
        self.assertTrue(e.get('MESSAGE'), 'no MESSAGE')
        self.assertRegex(e.get('PRIORITY', ''), r'^[0-7]$')
        # Every SD param of the same event's syslog line is a SESSREC_* field.
        line = self.d.events(e['SESSREC_EVENT'], sid)
        self.assertEqual(len(line), 1, 'stdout target: %r' % line)
        fields = {k: v for k, v in e.items() if k.startswith('SESSREC_')}
        for name, value in line[0]['sd']['relay@55555'].items():
            self.assertIn(value, fields.values(), 'SD param %s=%r is in no SESSREC_* field: %r'
                          % (name, value, fields))

    def test_events_in_the_journal(self):
        a = self.recorded_session('journal-a')
        b = self.recorded_session('journal-b')
        ids = {}
        for sid in (a, b):
            es = self.entries(sid, ['session_started', 'session_recorded'])
            self.assertEqual(sorted(e['SESSREC_EVENT'] for e in es), ['session_recorded', 'session_started'])
            for e in es:
                self.check_entry(e, sid)
                ids.setdefault(e['SESSREC_EVENT'], set()).add(e['MESSAGE_ID'])
        self.assertEqual(len(ids['session_started']), 1, 'MESSAGE_ID not fixed per event type: %r' % ids)
        self.assertEqual(len(ids['session_recorded']), 1, 'MESSAGE_ID not fixed per event type: %r' % ids)
        self.assertNotEqual(ids['session_started'], ids['session_recorded'])

    def test_unattached_in_the_journal(self):
        r = h.open_session(self.d.sock, rhost='10.9.8.7')
        self.assertTrue(r.get('ok'), r)
        self.assertEqual(h.close_session(self.d.sock, r['sid']).get('state'), 'unattached')
        es = self.entries(r['sid'], ['session_unattached'])
        self.assertEqual([e['SESSREC_EVENT'] for e in es], ['session_unattached'])
        self.check_entry(es[0], r['sid'])
        self.assertIn('10.9.8.7', es[0].values())


if __name__ == '__main__':
    unittest.main(verbosity=2)
