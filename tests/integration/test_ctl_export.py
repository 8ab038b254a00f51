"""sessrecctl export and grep on synthetic day shards: an asciicast that the
real asciinema (Debian's) reproduces byte for byte with `asciinema cat` and
plays to the end with `asciinema play -i 0.1`; text export without escape
sequences; raw export of the exact bytes ("raw" wins over "d"); input
exports; -o FILE; grep over output and input text with its filters."""
import base64
import json
import os
import re
import shutil
import stat
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ctlshard as cs  # noqa: E402
import harness as h  # noqa: E402

T = None
S = {}
NOW = int(time.time()) - 600

MIXED_OUT = [
    (0.10, b'ctl-start \xe2\x82\xac caf\xc3\xa9 \xf0\x9f\x98\x80\r\n'),
    (0.20, b'\x1b[1;32mgreen\x1b[0m done\r\n'),
    (0.30, b'\x1b]0;alice@web1: ~\x07\x1b[01;34malice@web1\x1b[0m:~$ '),
    (0.40, b'ls -la\r\n'),
    (0.50, b'tab\there \x07bell "quotes" \\backslash\r\n'),
    (0.60, b'progress 10%\rprogress 55%\rprogress 100%\r\n'),
    (0.70, b''.join(b'%d\r\n' % i for i in range(1, 301))),
    (1.50, b'\x1b[?2004h$ exit\r\n\x1b[?2004l'),
]
MIXED_IN = [(0.35, b'ls -lz\x7fa\r'), (1.40, b'exit\r')]
BAD_OUT = [(0.1, b'before \xff\xfe after\r\n'), (0.2, b'cut \xe2\x82'), (0.3, b'\xac euro\r\n')]


def setUpModule():
    global T
    T = h.tmpdir('ctl-export-')
    S['dir'] = os.path.join(T, 'shards')
    w = cs.ShardWriter(S['dir'], ts=NOW)
    S['mixed'] = w.session(ts=NOW, out=MIXED_OUT, inp=MIXED_IN, user='alice', host='web1')
    S['bad'] = w.session(ts=NOW + 5, out=BAD_OUT, user='bob', host='db1', src_ip='198.51.100.7')
    S['live'] = w.session(ts=NOW + 9, out=[(0.1, b'live one\r\n')], inp=[(0.2, b'sudo rm -rf /tmp/x\r')],
                          end=False, user='carol')
    w.close()
    S['other'] = os.path.join(T, 'other')
    w = cs.ShardWriter(S['other'], ts=NOW - 86400)
    S['old'] = w.session(ts=NOW - 86400, out=[(0.1, b'Green Done elsewhere\r\n')], user='dave')
    w.close()


def tearDownModule():
    if T:
        shutil.rmtree(T, ignore_errors=True)


def joined(events):
    return b''.join(d for _, d in events)


class ExportTest(unittest.TestCase):
    def cast(self, sid, *extra):
        path = os.path.join(T, '%s%s.cast' % (sid[:8], ''.join(extra).replace('-', '')))
        r = h.ctl('export', sid, '--dir', S['dir'], '--format', 'asciicast', '-o', path, *extra)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, b'')
        return path

    def test_asciicast_round_trip(self):
        path = self.cast(S['mixed'])
        with open(path, 'rb') as f:
            lines = f.read().decode('utf-8').splitlines()
        hdr = json.loads(lines[0])
        self.assertEqual((hdr['version'], hdr['width'], hdr['height'], hdr['timestamp']), (2, 80, 24, NOW))
        self.assertEqual(hdr['env']['TERM'], 'xterm-256color')
        evs = [json.loads(l) for l in lines[1:]]
        self.assertTrue(all(e[1] == 'o' for e in evs))
        self.assertEqual(sorted(set(e[0] for e in evs)), [t for t, _ in MIXED_OUT])
        rc, out = cs.asciinema_cat(path)
        self.assertEqual(rc, 0)
        self.assertEqual(out, joined(MIXED_OUT))
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)

    def test_asciicast_input_and_invalid_utf8(self):
        path = self.cast(S['mixed'], '--input')
        with open(path) as f:
            evs = [json.loads(l) for l in f.read().splitlines()[1:]]
        self.assertEqual([e[2] for e in evs if e[1] == 'i'], ['ls -lz\x7fa\r', 'exit\r'])
        self.assertEqual([e[0] for e in evs], sorted(e[0] for e in evs))
        # not UTF-8: what a terminal shows (U+FFFD), and asciinema still reads it
        path = self.cast(S['bad'])
        rc, out = cs.asciinema_cat(path)
        self.assertEqual(rc, 0)
        self.assertEqual(out, joined(BAD_OUT).decode('utf-8', 'replace').encode())

    def test_asciinema_play_runs_to_the_end(self):
        path = self.cast(S['mixed'])
        t = time.time()
        rc, out = cs.run_on_pty(['asciinema', 'play', '-i', '0.1', path], timeout=30)
        self.assertEqual(rc, 0, out[-300:])
        self.assertIn(b'300\r\n', out)
        self.assertIn(b'$ exit', out)
        self.assertLess(time.time() - t, 25)

    def test_text(self):
        r = h.ctl('export', S['mixed'][:6], '--dir', S['dir'], '--format', 'text')
        self.assertEqual(r.returncode, 0, r.stderr)
        text = r.stdout.decode('utf-8')
        self.assertNotIn('\x1b', text)
        self.assertNotIn('\r', text)
        lines = text.split('\n')
        self.assertEqual(lines[:6], ['ctl-start \u20ac caf\u00e9 \U0001F600', 'green done', 'alice@web1:~$ ls -la',
                                     'tab\there bell "quotes" \\backslash', 'progress 100%', '1'])
        self.assertEqual(lines[-3:], ['300', '$ exit', ''])
        r = h.ctl('export', S['mixed'], '--dir', S['dir'], '--format', 'text', '--input')
        self.assertEqual(r.stdout, b'ls -la\nexit\n')
        r = h.ctl('export', S['bad'], '--dir', S['dir'], '--format', 'text')
        self.assertEqual(r.stdout.decode(), 'before \ufffd\ufffd after\ncut \u20ac euro\n')

    def test_raw(self):
        r = h.ctl('export', S['bad'], '--dir', S['dir'], '--format', 'raw')
        self.assertEqual(r.returncode, 0)
        self.assertEqual(r.stdout, joined(BAD_OUT))
        r = h.ctl('export', S['mixed'], '--dir', S['dir'], '--format', 'raw')
        self.assertEqual(r.stdout, joined(MIXED_OUT))
        r = h.ctl('export', S['mixed'], '--dir', S['dir'], '--format', 'raw', '--input')
        self.assertEqual(r.stdout, joined(MIXED_IN))
        # a live session: what there is so far
        r = h.ctl('export', S['live'], '--dir', S['dir'], '--format', 'raw')
        self.assertEqual((r.returncode, r.stdout), (0, b'live one\r\n'))
        # -o replaces a file
        path = os.path.join(T, 'raw.out')
        with open(path, 'wb') as f:
            f.write(b'x' * 10000)
        r = h.ctl('export', S['bad'], '--dir', S['dir'], '--format', 'raw', '--output', path)
        with open(path, 'rb') as f:
            self.assertEqual(f.read(), joined(BAD_OUT))
        r = h.ctl('export', S['bad'], '--dir', S['dir'], '-o', os.path.join(T, 'no', 'such', 'dir'))
        self.assertEqual(r.returncode, 1)
        self.assertIn(b'No such file or directory', r.stderr)
        r = h.ctl('export', 'ffffffff', '--dir', S['dir'], '-o', os.path.join(T, 'never'))
        self.assertEqual(r.returncode, 1)
        self.assertFalse(os.path.exists(os.path.join(T, 'never')))


class GrepTest(unittest.TestCase):
    def grep(self, *args, dirs=None):
        d = []
        for x in dirs or [S['dir']]:
            d += ['--dir', x]
        r = h.ctl('grep', *args, *d)
        lines = r.stdout.decode().splitlines()
        for l in lines:
            self.assertRegex(l, r'^[0-9a-f-]{8}  \+\d+\.\d{3}s  [oi]  ')
        return r.returncode, lines

    def test_grep(self):
        rc, lines = self.grep('green')
        self.assertEqual((rc, lines), (0, ['%s  +0.200s  o  green done' % S['mixed'][:8]]))
        rc, lines = self.grep('-i', 'green d', dirs=[S['dir'], S['other']])
        self.assertEqual(lines, ['%s  +0.100s  o  Green Done elsewhere' % S['old'][:8],
                                 '%s  +0.200s  o  green done' % S['mixed'][:8]])
        rc, lines = self.grep('ls -la')  # in the order the lines ended
        self.assertEqual(lines, ['%s  +0.350s  i  ls -la' % S['mixed'][:8],
                                 '%s  +0.300s  o  alice@web1:~$ ls -la' % S['mixed'][:8]])
        rc, lines = self.grep('--input', 'ls -la')
        self.assertEqual(lines, ['%s  +0.350s  i  ls -la' % S['mixed'][:8]])
        rc, lines = self.grep('--output', '^(29[89]|300)$')
        self.assertEqual([l.split()[-1] for l in lines], ['298', '299', '300'])
        rc, lines = self.grep('rm -rf')
        self.assertEqual(lines, ['%s  +0.200s  i  sudo rm -rf /tmp/x' % S['live'][:8]])
        rc, lines = self.grep('euro|after')
        self.assertEqual(len(lines), 2)
        rc, lines = self.grep('--user', 'carol', '.')
        self.assertEqual({l[:8] for l in lines}, {S['live'][:8]})
        rc, lines = self.grep('--src', '198.51.100.0/24', '.')
        self.assertEqual({l[:8] for l in lines}, {S['bad'][:8]})
        rc, lines = self.grep('--until', '1d', '.', dirs=[S['dir'], S['other']])
        self.assertEqual({l[:8] for l in lines}, {S['old'][:8]})
        rc, lines = self.grep('no such text anywhere')
        self.assertEqual((rc, lines), (1, []))
        rc, lines = self.grep('\x1b')  # escape sequences are not text
        self.assertEqual(rc, 1)


if __name__ == '__main__':
    unittest.main(verbosity=2)
