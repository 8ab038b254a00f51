"""The ESC stand-in ("x1b" lines, sessrec-shards(5)) end to end: a real
session recorded through a private sessrecd prints output heavy with escape
sequences, a real U+241B among escape sequences, the text \\u001b, and an
invalid byte among escape sequences; the shard has lines with the stand-in
and the real U+241B's line without it, and export (raw, asciicast played by
the real asciinema, text), show and play give back exactly what the session
printed."""
import json
import os
import shutil
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ctlshard as cs  # noqa: E402
import harness as h  # noqa: E402

D = None
T = None
SID = None
ST = '\u241b'

# Pauses between the parts, so each is a read (a line) of its own.
SCRIPT = ("printf 'x1b-start\\n'; i=0; while [ $i -lt 300 ]; do "
          "printf '\\033[1;3%dm%03d\\033[0m \\033[K' $((i % 8)) $i; i=$((i+1)); done; printf '\\n'; sleep 0.3; "
          "printf '\\033[1mreal \\342\\220\\233 stand-in\\033[0m\\033[31m\\033[32m\\033[33m\\033[0m\\n'; sleep 0.3; "
          "printf 'text \\\\u001b not an escape \\033[7m\\033[0m\\033[1m\\033[0m\\033[4m\\033[0m\\n'; sleep 0.3; "
          "printf 'bad \\377 \\033[31m\\033[32m\\033[33m\\033[34m\\033[35m\\033[0m\\n'; exit 0")
PRINTED = (b'x1b-start\n' + b''.join(b'\x1b[1;3%dm%03d\x1b[0m \x1b[K' % (i % 8, i) for i in range(300)) + b'\n' +
           b'\x1b[1mreal \xe2\x90\x9b stand-in\x1b[0m\x1b[31m\x1b[32m\x1b[33m\x1b[0m\n' +
           b'text \\u001b not an escape \x1b[7m\x1b[0m\x1b[1m\x1b[0m\x1b[4m\x1b[0m\n' +
           b'bad \xff \x1b[31m\x1b[32m\x1b[33m\x1b[34m\x1b[35m\x1b[0m\n').replace(b'\n', b'\r\n')


def setUpModule():
    global D, T, SID
    D = h.Daemon()
    T = h.tmpdir('ctl-x1b-')
    p = h.record(D.sock, SCRIPT)
    assert p.wait(20) == 0, 'record failed: %r' % p.out[-300:]
    p.finish()
    sids = h.sids_with_output(D.lines(), b'x1b-start')
    assert len(sids) == 1, sids
    SID = sids[0]
    assert D.wait_end(SID) is not None, 'no end line'


def tearDownModule():
    if D:
        D.cleanup()
    if T:
        shutil.rmtree(T, ignore_errors=True)


class StandInTest(unittest.TestCase):
    def events(self):
        return [(raw, o) for raw, o in D.lines() if o and o.get('sid') == SID and o.get('ch') == 'o']

    def recorded(self):
        rec = h.channel_bytes(D.lines(), SID)
        self.assertIn(PRINTED, rec)
        return rec

    def test_shard_lines(self):
        evs = self.events()
        # the stand-in where it pays, always right before d
        x1b = [o for _, o in evs if 'x1b' in o]
        self.assertTrue(x1b, 'no line with the stand-in')
        for raw, o in evs:
            if 'x1b' in o:
                self.assertIn(b',"x1b":"' + ST.encode() + b'","d":"', raw)
                self.assertNotIn('\x1b', o['d'])
        # the real U+241B: its line is written the old way, ESCs escaped,
        # though it has ESCs enough to pay for the stand-in
        real = [(raw, o) for raw, o in evs if 'x1b' not in o and ST in o['d']]
        self.assertEqual(len(real), 1, 'lines with the real U+241B: %r' % real)
        raw, o = real[0]
        self.assertIn('real ' + ST + ' stand-in', o['d'])
        self.assertGreaterEqual(o['d'].count('\x1b'), 5, raw)
        self.assertIn(b'\\u001b', raw)
        # the text \u001b stays text, beside stand-ins
        text = [(raw, o) for raw, o in evs if b'text \\u001b' in h.event_bytes(o)]
        self.assertEqual(len(text), 1)
        self.assertIn('x1b', text[0][1])
        self.assertIn(b'text \\\\u001b', text[0][0])
        # invalid bytes: raw has the exact bytes, d the stand-ins
        bad = [o for _, o in evs if 'raw' in o]
        self.assertTrue(bad)
        self.assertTrue(any('x1b' in o for o in bad), bad)
        self.recorded()

    def test_export_raw_and_text(self):
        rec = self.recorded()
        r = h.ctl('export', SID, '--dir', D.shards, '--format', 'raw')
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, rec)
        r = h.ctl('export', SID, '--dir', D.shards, '--format', 'text')
        self.assertEqual(r.returncode, 0, r.stderr)
        text = r.stdout.decode()
        self.assertIn('real ' + ST + ' stand-in', text)
        self.assertIn('text \\u001b not an escape', text)
        self.assertIn('299', text)
        self.assertNotIn('\x1b', text)

    def test_asciicast(self):
        rec = self.recorded()
        cast = os.path.join(T, 'x1b.cast')
        r = h.ctl('export', SID[:8], '--dir', D.shards, '-o', cast)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(cast, 'rb') as f:
            body = f.read()
        # plain asciicast v2: ESC as \u001b, the real U+241B as itself
        self.assertNotIn(b'"x1b"', body)
        self.assertIn(b'\\u001b', body)
        lines = body.splitlines()
        self.assertEqual(json.loads(lines[0])['version'], 2)
        data = ''.join(e[2] for e in map(json.loads, lines[1:]) if e[1] == 'o')
        self.assertEqual(data, rec.decode('utf-8', 'replace'))
        self.assertEqual(data.count(ST), 1)
        rc, out = cs.asciinema_cat(cast)
        self.assertEqual(rc, 0)
        self.assertEqual(out, rec.decode('utf-8', 'replace').encode())

    def test_show_counts(self):
        rec = self.recorded()
        r = h.ctl('show', SID, '--dir', D.shards)
        self.assertEqual(r.returncode, 0, r.stderr)
        # the output events add up to the bytes relayed, not to the stand-ins' UTF-8
        self.assertIn('%d bytes relayed, %d bytes recorded' % (len(rec), len(rec)), r.stdout.decode())

    def test_play(self):
        rec = self.recorded()
        rc, out = cs.run_on_pty([h.binary('sessrecctl'), 'play', SID, '--dir', D.shards, '--speed', '100'])
        self.assertEqual(rc, 0, out[-300:])
        self.assertIn(rec, out)


if __name__ == '__main__':
    unittest.main(verbosity=2)
