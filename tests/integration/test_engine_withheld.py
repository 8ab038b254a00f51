"""The withheld-input flag: a shell used after `stty -echo` has every typed
line withheld as a secret (ECHO off, ICANON on), each with a marker; more
than 3 such lines flag the session in its end line (withheld_lines), its
session_recorded event and `sessrecctl list` (FLAG column W, --json
withheld_flag), while a few passwords do not. Real ptys, a real sh."""
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

D = None
SD = 'relay@55555'


def setUpModule():
    global D
    D = h.Daemon()


def tearDownModule():
    if D:
        D.cleanup()


def list_flags():
    """sid prefix -> the FLAG column of `sessrecctl list`, and sid -> the
    --json object."""
    r = h.ctl('list', '--dir', D.shards)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.decode().splitlines()
    col = lines[0].index('FLAG')
    text = {l[:8]: l[col:].split()[0] for l in lines[1:]}
    r = h.ctl('list', '--json', '--dir', D.shards)
    assert r.returncode == 0, r.stderr
    objs = {o['sid']: o for o in map(json.loads, r.stdout.splitlines())}
    return text, objs


class WithheldTest(unittest.TestCase):
    def session(self, p, tag):
        self.assertEqual(p.wait(15), 0, 'exit status (terminal: %r)' % p.out[-300:])
        sids = h.sids_with_output(D.lines(), tag)
        self.assertEqual(len(sids), 1, 'recordings of %r: %r' % (tag, sids))
        end = D.wait_end(sids[0])
        self.assertIsNotNone(end, 'no end line')
        lines = D.lines()
        h.check_shard_sane(self, lines)
        return sids[0], end['end'], h.session_lines(lines, sids[0]), lines

    def recorded_event(self, sid):
        ev = D.wait_event('session_recorded', sid)
        self.assertEqual(len(ev), 1, 'session_recorded: %r' % ev)
        return ev[0]['sd'][SD]

    def test_shell_under_echo_off_is_flagged(self):
        # A shell read by lines (sh, no line editor) after stty -echo: the
        # user types commands blind, each one withheld as if a password.
        p = h.record(D.sock, "stty -echo; echo blind-shell; PS1='dsh$ ' exec /bin/sh -i")
        self.addCleanup(p.finish)
        p.expect(rb'blind-shell\r\n', 10)
        cmds = [('echo one-$((1+1))', b'one-2'), ('echo two-$((2+2))', b'two-4'),
                ('id -u >/dev/null; echo three-$((3+3))', b'three-6'), ('echo four-$((4+4))', b'four-8')]
        for c, want in cmds:
            p.expect(rb'dsh\$ ')
            p.send(c + '\r')
            p.expect(want + rb'\r\n')
        cmds = [c for c, _ in cmds]
        p.expect(rb'dsh\$ ')
        p.send('exit 0\r')
        sid, end, mine, lines = self.session(p, b'blind-shell')
        for c in cmds:
            self.assertNotIn(c.encode(), p.out, 'a command was echoed with echo off')
        self.assertEqual(end.get('withheld_lines'), 5, 'end: %r' % end)
        self.assertEqual(end.get('withheld'), sum(len(c) + 1 for c in cmds) + len('exit 0\r'), 'end: %r' % end)
        marks = [o.get('d', '') for o in mine if o.get('ch') == 'm']
        self.assertEqual(len(marks), 5, 'one marker per withheld line: %r' % marks)
        self.assertEqual(h.channel_bytes(lines, sid, 'i'), b'', 'withheld input was stored')
        self.assertIn(b'four-8', h.channel_bytes(lines, sid, 'o'), 'the output is still recorded')
        ev = self.recorded_event(sid)
        self.assertEqual((ev.get('withheld_lines'), ev.get('withheld_flag')), ('5', 'true'), 'event: %r' % ev)
        text, objs = list_flags()
        self.assertEqual(text[sid[:8]], 'W', 'list FLAG column')
        self.assertIs(objs[sid].get('withheld_flag'), True, 'list --json: %r' % objs[sid])
        self.assertEqual(objs[sid].get('withheld_lines'), 5, 'list --json: %r' % objs[sid])

    def test_a_few_passwords_are_not_flagged(self):
        # Three lines typed with echo off (the threshold, not over it).
        script = ("echo pw-session; stty -echo; for n in 1 2 3; do printf 'pw%s: ' $n; read x; echo; "
                  "echo len-$n-${#x}; done; stty echo; exit 0")
        p = h.record(D.sock, script)
        self.addCleanup(p.finish)
        for n, pw in enumerate(['secret-one', 'secret-two!', 'secret-3'], 1):
            p.expect(rb'pw%d: ' % n, 10)
            p.send(pw + '\r')
            p.expect(rb'len-%d-%d\r\n' % (n, len(pw)))
        sid, end, mine, lines = self.session(p, b'pw-session')
        self.assertEqual(end.get('withheld_lines'), 3, 'end: %r' % end)
        self.assertEqual(len([o for o in mine if o.get('ch') == 'm']), 3, 'markers')
        self.assertNotIn(b'secret-', b''.join(raw for raw, _ in lines), 'a password was stored')
        ev = self.recorded_event(sid)
        self.assertEqual((ev.get('withheld_lines'), ev.get('withheld_flag')), ('3', 'false'), 'event: %r' % ev)
        text, objs = list_flags()
        self.assertEqual(text[sid[:8]], '-', 'list FLAG column')
        self.assertIs(objs[sid].get('withheld_flag'), False, 'list --json: %r' % objs[sid])


if __name__ == '__main__':
    unittest.main(verbosity=2)
