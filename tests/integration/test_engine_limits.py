"""Limits: the per-session output cap (a trunc line and a session_truncated
event; the session goes on, its input, resizes and markers still recorded), the
free-space check (session_skipped disk_pressure), MaxSessions
(session_skipped session_limit), and sessrec-shell's failure policy when the
daemon will not take the session (fail open: shell unrecorded with one line;
fail closed: one line, exit 1; quiet: no line)."""
import os
import re
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

CAP = 64 * 1024
BIG_LINES = 4000  # ~200 KB, three times the cap


def big_line(i):
    return b'line %05d \xe2\x82\xac padding-padding-padding-padding\r\n' % i


class CapTest(unittest.TestCase):
    def setUp(self):
        self.d = h.Daemon({'Recording': {'SessionMaxBytes': '64K'}})
        self.addCleanup(self.d.cleanup)

    def test_cap_writes_trunc_and_the_session_goes_on(self):
        # Past the output cap: output stops being recorded, but what the
        # user types, resizes and markers (here: a withheld line) still are.
        p = h.record(self.d.sock, "awk 'BEGIN{for(i=1;i<=%d;i++) printf \"line %%05d \\342\\202\\254 "
                                  "padding-padding-padding-padding\\n\", i}'; "
                                  "printf 'ask: '; read x; echo \"got-$x\"; "
                                  "stty -echo; printf 'pw: '; read y; stty echo; echo \"pw-${#y}\"; "
                                  "printf 'size: '; read z; stty size; exit 5" % BIG_LINES)
        self.addCleanup(p.finish)
        p.expect(rb'ask: ', 30)
        # session_truncated comes at once, while the session still runs.
        ev = self.d.wait_event('session_truncated')
        self.assertEqual(len(ev), 1, 'session_truncated events: %r' % ev)
        sid = ev[0]['sd']['relay@55555'].get('sid')
        self.assertIsNone(self.d.wait_end(sid, timeout=0), 'the session ended before its session_truncated')
        tbytes = int(ev[0]['sd']['relay@55555'].get('bytes'))
        self.assertGreater(tbytes, CAP // 2, 'truncated long before the cap: %r' % ev[0])
        self.assertLessEqual(tbytes, CAP, 'counted past the cap: %r' % ev[0])
        p.send('after-the-cap\r')
        p.expect(rb'got-after-the-cap\r\n')
        p.expect(rb'pw: ')
        p.send('hunter2\r')
        p.expect(rb'pw-7\r\n')
        p.expect(rb'size: ')
        p.resize(33, 101)
        p.send('\r')
        p.expect(rb'33 101\r\n')
        self.assertEqual(p.wait(15), 5)
        want = (b''.join(big_line(i) for i in range(1, BIG_LINES + 1)) + b'ask: after-the-cap\r\ngot-after-the-cap\r\n'
                b'pw: pw-7\r\nsize: \r\n33 101\r\n')
        self.assertEqual(p.out, want, 'the terminal lost or changed output past the cap')
        self.assertIsNotNone(self.d.wait_end(sid), 'no end line')
        lines = self.d.lines()
        h.check_shard_sane(self, lines)
        sids = [o['sid'] for _, o in lines if 'hdr' in o]
        self.assertEqual(sids, [sid])
        mine = h.session_lines(lines, sid)
        traw = [i for i, o in enumerate(mine) if o.get('trunc') is True]
        self.assertEqual(len(traw), 1, 'trunc lines: %d' % len(traw))
        after = mine[traw[0] + 1:]
        self.assertEqual([o for o in after if o.get('ch') == 'o'], [], 'output recorded after the trunc line')
        self.assertEqual(h.channel_bytes([(None, o) for o in after], sid, 'i'), b'after-the-cap\r\r',
                         'input after the cap, as typed (the withheld line apart)')
        self.assertEqual([o.get('d') for o in after if o.get('ch') == 'r'], ['101x33'], 'resizes after the cap')
        marks = [o.get('d', '') for o in after if o.get('ch') == 'm']
        self.assertEqual(len(marks), 1, 'markers after the cap: %r' % marks)
        self.assertRegex(marks[0], r'withheld: 8 bytes', 'the withheld line\'s marker: %r' % marks)
        self.assertEqual([o.get('ch') for o in after if 'ch' in o], ['i', 'm', 'r', 'i'], 'lines after the cap')
        self.assertIn('end', mine[-1])
        self.assertEqual([o for o in mine if 'end' in o], [mine[-1]], 'one end line, the last')
        self.assertIs(mine[-1]['end'].get('truncated'), True, 'end: %r' % mine[-1])
        self.assertEqual(mine[-1]['end'].get('withheld_lines'), 1, 'end: %r' % mine[-1])
        rec = h.channel_bytes(lines, sid, 'o')
        self.assertTrue(p.out.startswith(rec), 'the recording is not a prefix of what the terminal got')
        self.assertGreater(len(rec), CAP // 2, 'recording stopped long before the cap')
        self.assertLessEqual(len(rec), CAP + 4096, 'recorded past the cap')
        # The cap counts the shard bytes of output and command lines (sessrec-shards(5)).
        out_bytes = sum(len(raw) for raw, o in lines if o and o.get('sid') == sid
                        and (o.get('ch') == 'o' or 'exec' in o or 'exit' in o))
        self.assertEqual(out_bytes, tbytes, 'session_truncated bytes are the output and command lines\' shard bytes')
        shard_bytes = sum(len(raw) for raw, o in lines if o and o.get('sid') == sid)
        self.assertLessEqual(shard_bytes, 2 * CAP, 'shard bytes for a capped session')
        self.assertNotIn(b'got-after-the-cap', rec)
        self.assertNotIn(b'hunter2', b''.join(raw for raw, _ in lines), 'the withheld line was stored')
        ev = self.d.wait_event('session_recorded', sid)
        self.assertEqual(len(ev), 1)
        self.assertEqual(ev[0]['sd']['relay@55555'].get('truncated'), 'true', 'event: %r' % ev[0])
        self.assertEqual(len(self.d.events('session_truncated')), 1, 'session_truncated is sent once')


class DiskPressureTest(unittest.TestCase):
    def setUp(self):
        self.d = h.Daemon({'Recording': {'MinFreeSpace': '1000000G'}})
        self.addCleanup(self.d.cleanup)
        self.home = h.make_home(self.d.tmp)

    def test_open_refused_with_disk_pressure(self):
        r = h.open_session(self.d.sock)
        self.assertIs(r.get('ok'), False, 'open under disk pressure: %r' % r)
        self.assertEqual(r.get('skipped'), 'disk_pressure', r)
        self.assertNotIn('token', r)
        ev = self.d.wait_event('session_skipped')
        self.assertEqual(len(ev), 1, 'session_skipped events: %r' % ev)
        self.assertEqual(ev[0]['sd']['relay@55555'].get('reason'), 'disk_pressure', ev[0])
        self.assertEqual(self.d.lines(), [], 'a skipped session left shard lines')

    def shim(self, fail, quiet=False, token='x' * 43):
        # The daemon never issued this token (it issues none under disk
        # pressure): the attach is refused, as it would be for a token PAM
        # got before the disk filled.
        env = h.shell_env(self.home, self.d.sock, token=token, sid='00000000-0000-4000-8000-000000000000',
                          fail=fail, quiet=quiet)
        p = h.Pty(['-sessrec-shell'], env=env, exe=h.binary('sessrec-shell'), cwd=self.home)
        self.addCleanup(p.finish)
        return p

    def check_fail_open(self, p, quiet):
        p.expect(h.PROMPT_RX, 10)
        before = p.out[:p.pos - len(h.PROMPT)]
        if quiet:
            self.assertEqual(before, b'', 'quiet: the user was told %r' % before)
        else:
            self.assertRegex(before, rb'^[^\r\n]+\r\n$', 'not one line: %r' % before)
            self.assertRegex(before.lower(), rb'record', 'the notice does not say what: %r' % before)
        p.send('echo unrecorded-$((20+1))\r')
        p.expect(rb'unrecorded-21\r\n')
        p.expect(h.PROMPT_RX)
        p.send('exit 3\r')
        self.assertEqual(p.wait(10), 3)
        self.assertEqual(self.d.lines(), [], 'an unrecorded session left shard lines')

    def test_shim_fail_open(self):
        self.check_fail_open(self.shim('open'), False)

    def test_shim_fail_open_quiet(self):
        self.check_fail_open(self.shim('open', quiet=True), True)

    def test_shim_fail_closed(self):
        p = self.shim('closed')
        self.assertEqual(p.wait(10), 1)
        self.assertRegex(p.out, rb'^[^\r\n]+\r\n$', 'not one line: %r' % p.out)
        self.assertNotIn(h.PROMPT.encode(), p.out, 'a shell ran although recording failed')

    def test_shim_daemon_down(self):
        # sessrecd not running at all: fail open goes on, fail closed stops.
        gone = os.path.join(self.d.tmp, 'nobody-listens.sock')
        for fail in ('open', 'closed'):
            env = h.shell_env(self.home, gone, token='y' * 43, fail=fail)
            p = h.Pty(['-sessrec-shell'], env=env, exe=h.binary('sessrec-shell'), cwd=self.home)
            self.addCleanup(p.finish)
            if fail == 'open':
                p.expect(h.PROMPT_RX, 10)
                self.assertRegex(p.out[:p.pos - len(h.PROMPT)], rb'^[^\r\n]+\r\n$')
                p.send('exit 4\r')
                self.assertEqual(p.wait(10), 4)
            else:
                self.assertEqual(p.wait(10), 1)
                self.assertRegex(p.out, rb'^[^\r\n]+\r\n$', 'not one line: %r' % p.out)


class SessionLimitTest(unittest.TestCase):
    def setUp(self):
        self.d = h.Daemon({'Daemon': {'MaxSessions': '2'}})
        self.addCleanup(self.d.cleanup)

    def test_session_limit(self):
        ps = []
        for n in range(2):
            p = h.record(self.d.sock, "echo running-%d; read x; echo done-%d-$x" % (n, n))
            self.addCleanup(p.finish)
            p.expect(rb'running-%d\r\n' % n)
            ps.append(p)
        r = h.open_session(self.d.sock)
        self.assertIs(r.get('ok'), False, 'a third session was let in: %r' % r)
        self.assertEqual(r.get('skipped'), 'session_limit', r)
        ev = self.d.wait_event('session_skipped')
        self.assertEqual([e['sd']['relay@55555'].get('reason') for e in ev], ['session_limit'])
        for n, p in enumerate(ps):
            p.send('ok\r')
            p.expect(rb'done-%d-ok\r\n' % n)
            self.assertEqual(p.wait(10), 0)
        r = h.open_session(self.d.sock)
        self.assertIs(r.get('ok'), True, 'open after the others ended: %r' % r)
        r = h.close_session(self.d.sock, r['sid'])
        self.assertEqual(r.get('state'), 'unattached', r)
        self.assertEqual(len(self.d.wait_event('session_unattached')), 1)


if __name__ == '__main__':
    unittest.main(verbosity=2)
