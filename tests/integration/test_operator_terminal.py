"""A recording cannot drive the operator's terminal (sessrecctl(1)):
- show, list, list --json, show's list of ambiguous sids (and status, from
  the daemon) print a shard
  written with hostile values (escape sequences, DEL, C1 controls in user
  names, hosts, numbers that arrive as strings, meta keys, commands,
  markers) without one raw control byte; JSON escapes DEL and C1 as
  \\u007f, \\u0080-\\u009f and still reads back as the values written;
- play on a real pty (this test is the terminal): a recorded DECRQSS is not
  replayed, nor a clipboard write (OSC 52) nor DA, unless --raw; the answer
  a real xterm sends to the DECRQSS (it holds a space and a q) neither
  pauses nor quits the player, with --raw too; typed keys still work,
  Ctrl-C quits even in the middle of an answer, and input play did not
  read is flushed when it ends."""
import json
import os
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ctlshard as cs  # noqa: E402
import harness as h  # noqa: E402

T = None
S = {}

ESC_CSI = '\x1b[6n\x1b]52;c;cHduZWQ=\x07'
C1 = '\u009b6n\u009d52;c;eA==\u009c'
HOSTILE = 'x' + ESC_CSI + C1 + '\x7f\x05y'

DECRQSS = b'\x1bP$q q\x1b\\'            # what is the cursor style?
XTERM_ANSWER = b'\x1bP1$r2 q\x1b\\'     # xterm: "steady block", a space and a q in it
OSC52 = b'\x1b]52;c;cHduZWQ=\x07'
DA = b'\x1b[c'


def line(o):
    return (json.dumps(o, ensure_ascii=False, separators=(',', ':')) + '\n').encode()


def hostile_session(w, sid, user=HOSTILE):
    """A session whose every printed value is hostile, numbers as strings."""
    w.write(line({'sid': sid, 'hdr': {'version': 2, 'width': '80' + ESC_CSI, 'height': C1,
                                      'timestamp': w.ts,
                                      'env': {'TERM': HOSTILE, 'SHELL': HOSTILE}},
                  'meta': {'user': user, 'uid': '1000' + ESC_CSI, 'service': HOSTILE, 'proto': HOSTILE,
                           'src_ip': HOSTILE, 'src_port': '22' + C1, 'tty': HOSTILE, 'host': HOSTILE,
                           'auth': HOSTILE, 'start': '2026-12-01T10:00:00.000000Z', 'cmd': HOSTILE,
                           'pid': '42' + ESC_CSI, 'audit_session': '7' + C1, 'input': True,
                           'x' + ESC_CSI: HOSTILE}}))
    w.write(line({'sid': sid, 't': 0.5, 'ch': 'o', 'd': 'hello\r\n'}))
    w.write(line({'sid': sid, 't': 0.6, 'ch': 'm', 'd': HOSTILE}))
    w.write(line({'sid': sid, 't': 0.7, 'ch': 'r', 'd': HOSTILE}))
    w.write(line({'sid': sid, 't': 0.8, 'exec': {'pid': '9' + ESC_CSI, 'ppid': C1, 'uid': HOSTILE,
                                                 'argv': ['ls', HOSTILE], 'cwd': HOSTILE}}))
    w.write(line({'sid': sid, 't': 0.9, 'exit': {'pid': '9' + C1, 'code': HOSTILE, 'signal': None,
                                                 'dur': '1' + ESC_CSI}}))
    w.write(line({'sid': sid, 'end': {'duration': 1.5, 'bytes_out': '7' + ESC_CSI, 'bytes_in': C1,
                                      'bytes_recorded': HOSTILE, 'withheld': '3' + C1, 'resizes': 1,
                                      'truncated': False, 'reason': HOSTILE, 'end': HOSTILE}}))


def setUpModule():
    global T
    T = h.tmpdir('operator-term-')
    S['dir'] = os.path.join(T, 'shards')
    w = cs.ShardWriter(S['dir'], ts=1764583200)  # 2025-12-01 10:00 UTC
    S['hostile'] = cs.new_sid()
    hostile_session(w, S['hostile'])
    # two sessions sharing a prefix, for show's list of candidates
    hostile_session(w, 'ambig-0001')
    hostile_session(w, 'ambig-0002', user='\x1b]0;pwned\x07' + C1)
    gap = 1000.0  # the end is only reached by a key
    S['query'] = w.session(out=[(0.0, b'before\r\n'), (0.1, DECRQSS), (0.1, OSC52), (0.1, DA),
                                (0.2, b'\x1b[1mbold\x1b[0m \x1b]0;title\x07mid\r\n'), (gap, b'after\r\n')])
    w.close()


def tearDownModule():
    if T:
        shutil.rmtree(T, ignore_errors=True)


def ctl(*args):
    return subprocess.run([h.binary('sessrecctl')] + list(args) + ['--dir', S['dir']], capture_output=True,
                          env=h.ctl_env(), timeout=60)


def raw_controls(data):
    """Every control character in data but newlines: C0, DEL, C1 (as UTF-8
    or raw bytes). Empty when the bytes are safe on a terminal."""
    bad = [(i, b) for i, b in enumerate(data) if (b < 0x20 and b != 0x0a) or b == 0x7f]
    text = data.decode('utf-8', errors='surrogateescape')
    bad += [(i, c) for i, c in enumerate(text) if '\x80' <= c <= '\x9f' or '\udc80' <= c <= '\udcff']
    return bad


class PrintTest(unittest.TestCase):
    def check_safe(self, what, data):
        self.assertTrue(data, '%s printed nothing' % what)
        bad = raw_controls(data)
        self.assertEqual(bad, [], '%s printed raw control bytes: %r' % (what, data[:3000]))

    def test_show(self):
        r = ctl('show', S['hostile'])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.check_safe('show', r.stdout)
        self.check_safe('show (stderr)', r.stderr + b'-')
        out = r.stdout.decode()
        # escaped, not dropped: the numbers that came as strings too
        self.assertIn('(uid 1000\\x1b[6n\\x1b]52;c;cHduZWQ=\\x07)', out)
        self.assertIn('PID       42\\x1b[6n', out)
        self.assertIn('audit session 7\\xc2\\x9b6n', out)
        self.assertIn('exec  pid 9\\x1b[6n', out)
        self.assertIn('Terminal  80\\x1b[6n', out)
        self.assertIn('after 1\\x1b[6n', out)
        self.assertIn('7\\x1b[6n', out)  # bytes_out
        self.assertIn('\\x7f\\x05y', out)

    def test_ambiguous_sid(self):
        r = ctl('show', 'ambig')
        self.assertEqual(r.returncode, 1, r)
        self.assertIn(b'ambiguous', r.stderr)
        self.assertIn(b'ambig-0001', r.stderr)
        self.assertIn(b'ambig-0002', r.stderr)
        self.check_safe('the candidates', r.stderr)
        self.assertIn(b'\\x1b]0;pwned\\x07', r.stderr)

    def test_list(self):
        r = ctl('list')
        self.assertEqual(r.returncode, 0, r.stderr)
        self.check_safe('list', r.stdout)
        self.assertIn(S['hostile'][:8].encode(), r.stdout)

    def test_list_json(self):
        r = ctl('list', '--json')
        self.assertEqual(r.returncode, 0, r.stderr)
        self.check_safe('list --json', r.stdout)
        self.assertIn(b'\\u007f', r.stdout)
        self.assertIn(b'\\u009b', r.stdout)
        self.assertIn(b'\\u009d', r.stdout)
        rows = {o['sid']: o for o in map(json.loads, r.stdout.decode().splitlines())}
        o = rows[S['hostile']]
        # the same values, read back
        for key in ('user', 'host', 'tty', 'service', 'src_ip', 'auth', 'cmd', 'x' + ESC_CSI):
            self.assertEqual(o[key], HOSTILE, key)
        self.assertEqual(o['uid'], '1000' + ESC_CSI)
        self.assertEqual(o['env']['TERM'], HOSTILE)
        self.assertEqual(rows['ambig-0002']['user'], '\x1b]0;pwned\x07' + C1)


class StatusTest(unittest.TestCase):
    """The daemon's list as status prints it: a user name is whatever PAM
    was given."""

    def test_status(self):
        d = h.Daemon()
        self.addCleanup(d.cleanup)
        r = h.open_session(d.sock, user=HOSTILE, uid=4001, tty=HOSTILE)
        self.assertIs(r.get('ok'), True, r)
        self.addCleanup(h.close_session, d.sock, r['sid'])
        for args in ([], ['--json']):
            st = subprocess.run([h.binary('sessrecctl'), 'status', '--socket', d.sock] + args, capture_output=True,
                                env=h.ctl_env(), timeout=60)
            self.assertEqual(st.returncode, 0, st.stderr)
            bad = raw_controls(st.stdout)
            self.assertEqual(bad, [], 'status %s printed raw control bytes: %r' % (args, st.stdout))
        rows = json.loads(st.stdout)['sessions']
        self.assertEqual([o['user'] for o in rows], [HOSTILE])


class PlayTest(unittest.TestCase):
    def play(self, *args):
        """play, once the queries were played (or left out) and the long
        pause before 'after' began."""
        p = h.Pty([h.binary('sessrecctl'), 'play', S['query'], '--dir', S['dir']] + list(args), env=h.ctl_env())
        self.addCleanup(p.finish)
        p.expect(rb'before\r\n', 30)
        p.expect(rb'mid\r\n', 30)
        return p

    def answer_and_step(self, p):
        """What xterm answers, then a person's space (pause) and '.' (show
        the next output): 'after' comes only if the answer was not taken
        for keys (its q would quit, its space would have paused already)."""
        p.send(XTERM_ANSWER)
        p.send(b' .')
        p.expect(rb'after\r\n', 30)
        self.assertEqual(p.wait(30), 0, p.out[-500:])
        self.assertEqual(p.out.count(b'after'), 1)

    def test_filtered(self):
        p = self.play()
        self.answer_and_step(p)
        self.assertIn(b'\x1b[1mbold\x1b[0m \x1b]0;title\x07mid\r\n', p.out)
        for seq in (DECRQSS, OSC52, DA, b'\x1bP', b']52;'):
            self.assertNotIn(seq, p.out)

    def test_raw(self):
        p = self.play('--raw')
        self.assertIn(b'before\r\n' + DECRQSS, p.out)  # the terminal saw the query...
        self.answer_and_step(p)                          # ... and answers it
        for seq in (DECRQSS, OSC52, DA):
            self.assertIn(seq, p.out)

    def test_quit_keys(self):
        p = self.play()
        p.send(XTERM_ANSWER + b'q')
        self.assertEqual(p.wait(30), 0)
        self.assertNotIn(b'after', p.out)

    def test_ctrl_c_in_an_answer(self):
        p = self.play()
        p.send(XTERM_ANSWER[:5] + b'\x03')
        self.assertEqual(p.wait(30), 0)
        self.assertNotIn(b'after', p.out)

    def test_input_flushed_at_exit(self):
        """What play has not read when it quits (the rest of one burst after
        its q: a key read is at most 256 bytes) does not reach the next
        reader of the terminal."""
        script = '"$0" play "$1" --dir "$2"; echo "rc=$?"; IFS= read -r l; echo "next=[$l]"'
        p = h.Pty(['/bin/sh', '-c', script, h.binary('sessrecctl'), S['query'], S['dir']], env=h.ctl_env())
        self.addCleanup(p.finish)
        p.expect(rb'mid\r\n', 30)
        p.send(b'q' + b'X' * 1000 + b'\r')
        p.expect(rb'rc=0', 30)
        p.send(b'typed\r')
        m = p.expect(rb'next=\[(.*)\]', 30)
        self.assertEqual(m.group(1), b'typed', p.out[-300:])
        self.assertEqual(p.wait(30), 0)


if __name__ == '__main__':
    unittest.main(verbosity=2)
