"""50 sessions at once through `sessrecctl record`, each on its own pty with
its own bulk output (UTF-8, escapes, an invalid byte): every terminal gets
exactly its own bytes, every recording holds exactly what its terminal got,
every exit status comes back. A terminal that stops reading does not stall
the other sessions, and loses nothing once it reads again."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

N = 50
LINES = 700
BODY = r'%s \342\202\254 \033[1mbold\033[0m abcdefghijklmnopqrstuvwxyz\n'


def script(n):
    fmt = 'sess-%02d-%%05d ' % n + BODY[3:]
    return ("awk 'BEGIN{for(i=1;i<=%d;i++) printf \"%s\", i; printf \"bad \\377 byte %02d\\n\"}'; exit %d"
            % (LINES, fmt, n, n))


def expected(n):
    out = b''.join(b'sess-%02d-%05d \xe2\x82\xac \x1b[1mbold\x1b[0m abcdefghijklmnopqrstuvwxyz\r\n' % (n, i)
                   for i in range(1, LINES + 1))
    return out + b'bad \xff byte %02d\r\n' % n


class ConcurrentTest(unittest.TestCase):
    def setUp(self):
        self.d = h.Daemon()
        self.addCleanup(self.d.cleanup)

    def test_fifty_sessions_byte_for_byte(self):
        ptys = []
        for n in range(N):
            p = h.record(self.d.sock, script(n))
            self.addCleanup(p.finish)
            ptys.append(p)
        done = h.pump_all(ptys, lambda: all(p.status is not None and p.closed for p in ptys), 90)
        self.assertTrue(done, '%d of %d sessions still running'
                        % (sum(1 for p in ptys if p.status is None), N))
        for n, p in enumerate(ptys):
            self.assertEqual(p.status, n, 'session %d: exit status (terminal tail %r)' % (n, p.out[-200:]))
            self.assertEqual(p.out, expected(n), 'session %d: the terminal did not get exactly its output' % n)
        lines = self.d.lines()
        h.check_shard_sane(self, lines)
        hdrs = [o for _, o in lines if 'hdr' in o]
        self.assertEqual(len(hdrs), N, 'headers in the shards')
        self.assertEqual(len({o['sid'] for o in hdrs}), N, 'sids are not unique')
        seen = set()
        for o in hdrs:
            sid = o['sid']
            rec = h.channel_bytes(lines, sid, 'o')
            self.assertTrue(rec.startswith(b'sess-'), 'session %s recorded %r...' % (sid, rec[:60]))
            n = int(rec[5:7])
            self.assertNotIn(n, seen, 'two recordings claim session %d' % n)
            seen.add(n)
            self.assertEqual(rec, ptys[n].out, 'session %d: recording differs from what the terminal got' % n)
            mine = h.session_lines(lines, sid)
            self.assertIn('end', mine[-1], 'session %d: no end line last' % n)
            self.assertEqual(mine[-1]['end'].get('bytes_out'), len(ptys[n].out), 'session %d: end %r'
                             % (n, mine[-1]))
        recorded = self.d.wait_event('session_recorded', count=N)
        self.assertEqual(len(recorded), N, 'session_recorded events')
        r = h.call(self.d.sock, {'op': 'list'})
        self.assertTrue(r.get('ok'), r)
        self.assertEqual(r.get('sessions'), [], 'sessions left after all ended: %r' % r)

    def test_stalled_terminal_does_not_stall_others(self):
        big = 3 * 1024 * 1024
        stalled = h.record(self.d.sock, "head -c %d /dev/zero | tr '\\0' a; echo; echo stalled-done" % big)
        self.addCleanup(stalled.finish)
        stalled.expect(rb'a{1000}')   # it is flowing; from now on nobody reads it
        ticker = h.record(self.d.sock, 'i=1; while [ $i -le 20 ]; do echo tick$i; i=$((i+1)); sleep 0.02; done')
        self.addCleanup(ticker.finish)
        self.assertEqual(ticker.wait(20), 0, 'a session stalled behind a terminal that does not read: %r'
                         % ticker.out[-200:])
        want = b''.join(b'tick%d\r\n' % i for i in range(1, 21))
        self.assertEqual(ticker.out, want)
        self.assertEqual(stalled.poll(), None, 'the stalled session ended without its terminal reading')
        self.assertEqual(stalled.wait(60), 0)
        self.assertEqual(stalled.out, b'a' * big + b'\r\nstalled-done\r\n')
        lines = self.d.lines()
        h.check_shard_sane(self, lines)
        for p, needle in ((ticker, b'tick1\r\n'), (stalled, b'stalled-done')):
            sids = h.sids_with_output(lines, needle)
            self.assertEqual(len(sids), 1)
            self.assertEqual(h.channel_bytes(lines, sids[0], 'o'), p.out)


if __name__ == '__main__':
    unittest.main(verbosity=2)
