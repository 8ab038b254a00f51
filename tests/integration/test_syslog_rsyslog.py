"""Events to a real rsyslogd (Debian rsyslog) listening on a private imuxsock
socket: the lines arrive as RFC 5424, rsyslog's own parser finds the MSGID,
APP-NAME, PROCID, HOSTNAME, timestamp and the SD params, and they match what
was sent, escapes included."""
import datetime
import os
import shutil
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

RSYSLOGD = shutil.which('rsyslogd') or '/usr/sbin/rsyslogd'
ODD_USER = 'o"brien]\\x'
HOST = 'srit-node'

CONF = '''
global(workDirectory="{work}")
module(load="imuxsock" SysSock.Use="off")
template(name="raw" type="string" string="%rawmsg%\\n")
template(name="parsed" type="string"
         string="%pri%\\t%timereported:::date-rfc3339%\\t%hostname%\\t%app-name%\\t%procid%\\t%msgid%\\t%structured-data%\\t%msg%\\n")
input(type="imuxsock" Socket="{sock}" UseSpecialParser="off" IgnoreTimestamp="off"
      CreatePath="on" RateLimit.Interval="0")
action(type="omfile" file="{raw}" template="raw")
action(type="omfile" file="{parsed}" template="parsed")
'''


def ts(s):
    return datetime.datetime.fromisoformat(s.replace('Z', '+00:00'))


@unittest.skipUnless(os.path.exists(RSYSLOGD), 'rsyslogd not installed')
class RsyslogTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = h.tmpdir('srit-rsyslog-')
        cls.log_sock = os.path.join(cls.tmp, 'log.sock')
        cls.raw = os.path.join(cls.tmp, 'raw.log')
        cls.parsed = os.path.join(cls.tmp, 'parsed.log')
        work = os.path.join(cls.tmp, 'work')
        os.makedirs(work)
        conf = os.path.join(cls.tmp, 'rsyslog.conf')
        with open(conf, 'w') as f:
            f.write(CONF.format(work=work, sock=cls.log_sock, raw=cls.raw, parsed=cls.parsed))
        cls.rs_out = open(os.path.join(cls.tmp, 'rsyslogd.out'), 'wb')
        cls.rs = subprocess.Popen([RSYSLOGD, '-n', '-f', conf, '-i', os.path.join(cls.tmp, 'rsyslogd.pid')],
                                  stdout=cls.rs_out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        h.register(cls.rs.pid, 'rsyslogd')
        if not h.wait_for(lambda: os.path.exists(cls.log_sock), 10):
            raise RuntimeError('rsyslogd did not create %s' % cls.log_sock)
        cls.d = h.Daemon({'Syslog': {'Targets': 'devlog', 'DevLog': cls.log_sock, 'Hostname': HOST}},
                         syslog=None)

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()
        cls.rs.terminate()
        try:
            cls.rs.wait(10)
        except subprocess.TimeoutExpired:
            cls.rs.kill()
            cls.rs.wait()
        h.forget(cls.rs.pid)
        cls.rs_out.close()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def received(self, sid, want):
        """(raw records, parsed rows) for sid once the MSGIDs in want arrived."""
        def get():
            raws, rows = [], []
            if os.path.exists(self.raw):
                with open(self.raw, encoding='utf-8', errors='replace') as f:
                    for line in f:
                        r = h.parse_rfc5424(line.rstrip('\n'))
                        self.assertIsNotNone(r, 'rsyslog received a line that is not RFC 5424: %r' % line)
                        if r['sd'].get('relay@55555', {}).get('sid') == sid:
                            raws.append(r)
            if os.path.exists(self.parsed):
                with open(self.parsed, encoding='utf-8', errors='replace') as f:
                    for line in f:
                        cols = line.rstrip('\n').split('\t')
                        if len(cols) >= 8 and ('sid="%s"' % sid) in cols[6]:
                            rows.append(cols)
            have = {r['msgid'] for r in raws}
            return (raws, rows) if set(want) <= have and len(rows) >= len(raws) else None
        got = h.wait_for(get, 10)
        self.assertIsNotNone(got, 'rsyslog did not receive %s for %s; daemon said: %s'
                             % (want, sid, self.d.output()[-500:]))
        return got

    def check(self, raws, rows):
        self.assertEqual(len(raws), len(rows))
        for r, cols in zip(raws, rows):
            pri, tstamp, host, app, procid, msgid, sdtext, msg = cols[:8]
            self.assertEqual(int(pri), r['pri'])
            self.assertEqual(r['pri'] // 8, 16, 'facility is not local0: %r' % r)
            self.assertEqual(host, HOST)
            self.assertEqual(r['host'], HOST)
            self.assertEqual(app, 'sessrec')
            self.assertEqual(procid, str(self.d.pid))
            self.assertEqual(msgid, r['msgid'], 'rsyslog did not parse the MSGID')
            self.assertEqual(ts(tstamp), ts(r['ts']), 'rsyslog did not keep our timestamp')
            self.assertLess(abs((ts(r['ts']) - datetime.datetime.now(datetime.timezone.utc)).total_seconds()), 120)
            self.assertEqual(h.parse_sd(sdtext), r['sd'], 'rsyslog parsed other SD params than sent')

    def test_recorded_session(self):
        p = h.record(self.d.sock, 'echo via-rsyslog; exit 0')
        self.addCleanup(p.finish)
        self.assertEqual(p.wait(10), 0)
        sids = h.sids_with_output(self.d.lines(), b'via-rsyslog')
        self.assertEqual(len(sids), 1)
        sid = sids[0]
        raws, rows = self.received(sid, ['session_started', 'session_recorded'])
        self.assertEqual(sorted(r['msgid'] for r in raws), ['session_recorded', 'session_started'])
        self.check(raws, rows)
        rec = [r for r in raws if r['msgid'] == 'session_recorded'][0]['sd']['relay@55555']
        self.assertEqual(rec.get('sid'), sid)
        self.assertEqual(rec.get('truncated'), 'false')
        self.assertRegex(rec.get('duration_s', ''), r'^\d+(\.\d+)?$')
        self.assertRegex(rec.get('bytes', ''), r'^\d+$')
        self.assertEqual(self.d.events(sid=sid), [], 'events went to stdout too with Targets=devlog')

    def test_escapes_survive(self):
        r = h.open_session(self.d.sock, user=ODD_USER, rhost='10.1.2.3')
        self.assertTrue(r.get('ok'), r)
        sid = r['sid']
        self.assertEqual(h.close_session(self.d.sock, sid).get('state'), 'unattached')
        raws, rows = self.received(sid, ['session_unattached'])
        self.check(raws, rows)
        sd = [x for x in raws if x['msgid'] == 'session_unattached'][0]['sd']['relay@55555']
        self.assertEqual(sd.get('src_ip'), '10.1.2.3')
        for name, value in sd.items():
            if 'brien' in value:
                self.assertEqual(value, ODD_USER, 'param %s mangled' % name)
        with open(self.raw, encoding='utf-8') as f:
            line = [x for x in f if sid in x][0]
        if 'brien' in line:
            self.assertIn('o\\"brien\\]\\\\x', line, 'SD-PARAM not escaped per RFC 5424 6.3.3')


if __name__ == '__main__':
    unittest.main(verbosity=2)
