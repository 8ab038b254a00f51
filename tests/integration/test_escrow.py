"""Escrow of withheld input (sessrecd(8), "Withheld input"): with
EscrowPublicKey= set, a line typed under `stty -echo` is not in the shard in
clear but sealed in "esc" lines; `sessrecctl reveal` with the private key
prints it (text and --json), another key is refused with one line and exit
status 1; a long line is split into pieces and revealed whole; an untrusted
key file is refused at start and at reload (the running key stays).
Real ptys, a real sh, real libsodium keys made by `sessrecctl escrow-keygen`."""
import json
import os
import re
import signal
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

D = None
KEYS = None


def keygen(name):
    out = os.path.join(KEYS, name)
    r = h.ctl('escrow-keygen', '--out', out)
    assert r.returncode == 0, r.stderr
    return os.path.join(out, 'escrow.key'), os.path.join(out, 'escrow.pub'), r


def setUpModule():
    global D, KEYS
    KEYS = h.tmpdir('srit-keys-')
    keygen('op')
    keygen('other')
    D = h.Daemon(conf={'Recording': {'EscrowPublicKey': os.path.join(KEYS, 'op', 'escrow.pub')}})


def tearDownModule():
    if D:
        D.cleanup()
    if KEYS:
        subprocess.run(['rm', '-rf', KEYS])


def read_password_script(tag):
    return ("echo %s; stty -echo; printf 'pw: '; read x; echo; echo len-${#x}; stty echo; exit 0" % tag)


def withheld_in_state(sid):
    try:
        with open(os.path.join(D.state, sid)) as f:
            return json.load(f).get('withheld')
    except (OSError, ValueError):
        return None


class EscrowTest(unittest.TestCase):
    def session(self, tag, secret):
        p = h.record(D.sock, read_password_script(tag))
        self.addCleanup(p.finish)
        p.expect(rb'pw: ', 10)
        p.send(secret + '\r')
        p.expect(rb'len-%d\r\n' % len(secret), 10)
        self.assertEqual(p.wait(15), 0, 'exit status (terminal: %r)' % p.out[-300:])
        sids = h.sids_with_output(D.lines(), tag.encode())
        self.assertEqual(len(sids), 1, sids)
        self.assertIsNotNone(D.wait_end(sids[0]), 'no end line')
        lines = D.lines()
        h.check_shard_sane(self, lines)
        return sids[0], lines

    def reveal(self, sid, key, *more):
        return h.ctl('reveal', '--dir', D.shards, '--key', key, *more, sid)

    def test_secret_sealed_and_revealed(self):
        secret = 'hunter2-s3cret'
        sid, lines = self.session('esc-basic', secret)
        self.assertNotIn(secret.encode(), b''.join(raw for raw, _ in lines), 'the secret is in the shard in clear')
        mine = h.session_lines(lines, sid)
        esc = [o for o in mine if 'esc' in o]
        self.assertEqual(len(esc), 1, 'one escrow line: %r' % esc)
        self.assertNotIn('more', esc[0])
        marks = [o['d'] for o in mine if o.get('ch') == 'm']
        self.assertEqual(marks, ['input withheld: %d bytes (echo off)' % (len(secret) + 1)], marks)
        # the escrow line comes just before its marker
        i = mine.index(esc[0])
        self.assertEqual(mine[i + 1].get('ch'), 'm')
        r = self.reveal(sid, os.path.join(KEYS, 'op', 'escrow.key'))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout.decode(), r'^\+\d+\.\d{3}s  hunter2-s3cret\n$')
        self.assertEqual(r.stderr, b'')
        r = self.reveal(sid, os.path.join(KEYS, 'op', 'escrow.key'), '--json')
        self.assertEqual(r.returncode, 0, r.stderr)
        objs = [json.loads(x) for x in r.stdout.splitlines()]
        self.assertEqual([(o['sid'], o['d']) for o in objs], [(sid, secret + '\r')])
        self.assertAlmostEqual(objs[0]['t'], esc[0]['t'], places=5)

    def test_other_key_refused(self):
        sid, _ = self.session('esc-other', 'not-for-you')
        key = os.path.join(KEYS, 'other', 'escrow.key')
        r = self.reveal(sid, key)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stdout, b'', 'something was printed with the wrong key')
        self.assertEqual(r.stderr.decode(), 'sessrecctl: %s does not open the escrowed input of session %s: '
                         'it was sealed to another key\n' % (key, sid))

    def test_long_line_in_pieces(self):
        secret = ''.join('%04d|' % i for i in range(700))  # 3500 bytes: two pieces
        sid, lines = self.session('esc-long', secret)
        esc = [o for o in h.session_lines(lines, sid) if 'esc' in o]
        self.assertEqual([o.get('more') for o in esc], [True, None], esc)
        self.assertNotIn(b'0699|', b''.join(raw for raw, _ in lines))
        r = self.reveal(sid, os.path.join(KEYS, 'op', 'escrow.key'), '--json')
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual([json.loads(x)['d'] for x in r.stdout.splitlines()], [secret + '\r'])
        # a line a crash cut after its first piece: what was sealed is revealed
        cut = os.path.join(h.tmpdir('srit-esc-cut-'), 'shards')
        self.addCleanup(subprocess.run, ['rm', '-rf', os.path.dirname(cut)])
        os.mkdir(cut, 0o700)
        with open(os.path.join(cut, 'sessions-2026-01-01.jsonl'), 'wb') as f:
            f.write(b''.join(raw for raw, o in lines if o and o.get('sid') == sid and o.get('esc') != esc[-1]['esc']))
        r = h.ctl('reveal', '--dir', cut, '--key', os.path.join(KEYS, 'op', 'escrow.key'), '--json', sid)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual([json.loads(x)['d'] for x in r.stdout.splitlines()], [secret[:2048]])

    def test_terminal_controls_escaped(self):
        sid, _ = self.session('esc-ctl', 'a\x1b]0;pwned\x07b')
        r = self.reveal(sid, os.path.join(KEYS, 'op', 'escrow.key'))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout.decode(), r'^\+\d+\.\d{3}s  a\\x1b\]0;pwned\\x07b\n$')

    def test_line_cut_by_a_reexec_is_sealed_in_two(self):
        # SIGUSR2 re-executes the daemon in place: the withheld line being
        # typed is sealed at the hand-over, the rest after it.
        p = h.record(D.sock, read_password_script('esc-reexec'))
        self.addCleanup(p.finish)
        p.expect(rb'pw: ', 10)
        p.send('abc')
        sid = h.wait_for(lambda: h.sids_with_output(D.lines(), b'esc-reexec'), 5)[0]
        # the daemon took the three bytes: its state file counts them
        self.assertTrue(h.wait_for(lambda: withheld_in_state(sid) == 3, 10), withheld_in_state(sid))
        before = len(D.output())
        os.kill(D.pid, signal.SIGUSR2)
        self.assertTrue(h.wait_for(lambda: 'resumed 1 session' in D.output()[before:], 10), D.output()[before:])
        p.send('def\r')
        p.expect(rb'len-6\r\n', 10)
        self.assertEqual(p.wait(15), 0)
        self.assertIsNotNone(D.wait_end(sid))
        self.assertNotIn(b'abc', b''.join(raw for raw, _ in D.lines() if sid.encode() in raw))
        r = self.reveal(sid, os.path.join(KEYS, 'op', 'escrow.key'), '--json')
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual([json.loads(x)['d'] for x in r.stdout.splitlines()], ['abc', 'def\r'])

    def test_private_key_readable_by_others_refused(self):
        sid, _ = self.session('esc-mode', 'abc')
        key = os.path.join(KEYS, 'op', 'escrow.key')
        os.chmod(key, 0o640)
        try:
            r = self.reveal(sid, key)
        finally:
            os.chmod(key, 0o600)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr.decode(), 'sessrecctl: %s: a private key others can read or write (mode 0640): '
                         'chmod 600 it\n' % key)

    def test_untrusted_key_refused_at_start_and_reload(self):
        _, pub, _ = keygen('loose')
        os.chmod(pub, 0o664)
        d = h.Daemon(conf={'Recording': {'EscrowPublicKey': pub}}, start=False)
        self.addCleanup(d.cleanup)
        r = subprocess.run(d.argv, capture_output=True, timeout=20, stdin=subprocess.DEVNULL)
        self.assertEqual(r.returncode, 1)
        # (the shard_dir_unsafe warning of the test's /tmp aside)
        self.assertEqual([x for x in r.stderr.decode().splitlines() if not x.startswith('sessrecd: warning:')],
                         ['sessrecd: EscrowPublicKey=%s: not trusted: must be a regular file owned by root, '
                          'not group/other-writable (uid 0, mode 0664)' % pub])
        # reload: the running key stays and still seals
        D.reconfigure({'Recording': {'EscrowPublicKey': pub}})
        self.addCleanup(D.reconfigure, {'Recording': {'EscrowPublicKey': os.path.join(KEYS, 'op', 'escrow.pub')}})
        os.kill(D.pid, signal.SIGHUP)
        want = 'reload: EscrowPublicKey=%s: not trusted' % pub
        self.assertTrue(h.wait_for(lambda: want in D.output(), 5), D.output()[-600:])
        sid, _ = self.session('esc-after-reload', 'still-sealed')
        r = self.reveal(sid, os.path.join(KEYS, 'op', 'escrow.key'))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b'still-sealed', r.stdout)

    def test_keygen_files(self):
        key, pub, r = keygen('files')
        self.assertEqual(os.stat(key).st_mode & 0o7777, 0o600)
        self.assertEqual(os.stat(pub).st_mode & 0o7777, 0o644)
        self.assertIn(('public key:  %s' % pub).encode(), r.stdout)
        self.assertRegex(open(pub).read(), r'^[A-Za-z0-9+/]{43}=\n$')
        again = h.ctl('escrow-keygen', '--out', os.path.dirname(key))
        self.assertEqual(again.returncode, 1)
        self.assertIn(b'not overwritten', again.stderr)


if __name__ == '__main__':
    unittest.main(verbosity=2)
