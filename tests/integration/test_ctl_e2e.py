"""sessrecctl end to end with the real recorder: sessions recorded through a
private sessrecd with `sessrecctl record` (mixed UTF-8, escape sequences,
invalid bytes), then found with list, exported to asciicast and checked
with the real asciinema (`asciinema cat` byte for byte, `asciinema play -i
0.1` to the end), exported raw and as text, searched, replayed in tmux (the
final screen is what the session showed), followed while still recorded,
and `status` asked of the daemon (and of no daemon)."""
import json
import os
import shutil
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ctlshard as cs  # noqa: E402
import harness as h  # noqa: E402

D = None
T = None
S = {}

MIXED = ("printf 'e2e-start \\342\\202\\254 caf\\303\\251 \\360\\237\\230\\200\\n'; "
         "printf '\\033[1;32mgreen\\033[0m done\\n'; printf '\\033]0;a title\\007'; "
         "printf 'tab\\there\\n'; seq 1 200; printf 'progress 10%%\\rprogress 100%%\\n'; exit 0")
INVALID = "printf 'bad \\377\\376 bytes\\n'; printf 'split \\342\\202'; sleep 0.2; printf '\\254 euro\\n'; exit 0"


def record(script, tag):
    p = h.record(D.sock, script)
    assert p.wait(20) == 0, 'record of %s failed: %r' % (tag, p.out[-300:])
    p.finish()
    sids = h.sids_with_output(D.lines(), tag.encode())
    assert len(sids) == 1, 'recordings of %s: %r' % (tag, sids)
    assert D.wait_end(sids[0]) is not None, 'no end line for %s' % tag
    return sids[0]


def setUpModule():
    global D, T
    D = h.Daemon()
    T = h.tmpdir('ctl-e2e-')
    S['mixed'] = record(MIXED, 'e2e-start')
    S['invalid'] = record(INVALID, 'bad ')


def tearDownModule():
    if D:
        D.cleanup()
    if T:
        shutil.rmtree(T, ignore_errors=True)


class E2ETest(unittest.TestCase):
    def test_list(self):
        r = h.ctl('list', '--json', '--dir', D.shards)
        self.assertEqual(r.returncode, 0, r.stderr)
        objs = {o['sid']: o for o in map(json.loads, r.stdout.splitlines())}
        for k in ('mixed', 'invalid'):
            o = objs[S[k]]
            self.assertEqual((o['state'], o['user'], o['reason']), ('ended', 'root', 'exit'))
            self.assertGreater(o['bytes_out'], 10)
        r = h.ctl('list', '--dir', D.shards)
        self.assertIn(S['mixed'][:8], r.stdout.decode())
        self.assertEqual(r.stderr, b'')

    def test_asciicast_with_real_asciinema(self):
        rec = h.channel_bytes(D.lines(), S['mixed'])
        self.assertIn('e2e-start € café'.encode(), rec)
        cast = os.path.join(T, 'mixed.cast')
        r = h.ctl('export', S['mixed'][:8], '--dir', D.shards, '-o', cast)
        self.assertEqual(r.returncode, 0, r.stderr)
        rc, out = cs.asciinema_cat(cast)
        self.assertEqual(rc, 0)
        self.assertEqual(out, rec)
        rc, out = cs.run_on_pty(['asciinema', 'play', '-i', '0.1', cast], timeout=30)
        self.assertEqual(rc, 0)
        self.assertIn(b'progress 100%', out)
        # invalid bytes: asciinema shows what a terminal shows
        cast = os.path.join(T, 'invalid.cast')
        r = h.ctl('export', S['invalid'], '--dir', D.shards, '-o', cast)
        rc, out = cs.asciinema_cat(cast)
        self.assertEqual(rc, 0)
        self.assertEqual(out, h.channel_bytes(D.lines(), S['invalid']).decode('utf-8', 'replace').encode())

    def test_raw_and_text(self):
        r = h.ctl('export', S['invalid'], '--dir', D.shards, '--format', 'raw')
        self.assertEqual(r.stdout, h.channel_bytes(D.lines(), S['invalid']))
        self.assertIn(b'bad \xff\xfe bytes\r\n', r.stdout)
        self.assertIn(b'split \xe2\x82\xac euro', r.stdout)
        r = h.ctl('export', S['mixed'], '--dir', D.shards, '--format', 'text')
        text = r.stdout.decode()
        self.assertIn('green done\n', text)
        self.assertIn('\nprogress 100%\n', text)
        self.assertNotIn('\x1b', text)
        self.assertNotIn('a title', text)
        r = h.ctl('grep', 'caf. .$', '--dir', D.shards)
        self.assertEqual(r.returncode, 0)
        self.assertRegex(r.stdout.decode(), r'^%s  \+\d+\.\d{3}s  o  e2e-start € café 😀\n$' % S['mixed'][:8])

    def test_play_final_screen(self):
        rec = h.channel_bytes(D.lines(), S['mixed'])
        raw = os.path.join(T, 'mixed.raw')
        with open(raw, 'wb') as f:
            f.write(rec)
        name = 'ctle2e%d' % os.getpid()
        ref = cs.Tmux(name + 'r', 'stty raw -echo; cat %s; sleep 600' % raw)
        self.addCleanup(ref.kill)
        done = os.path.join(T, 'play.done')
        t = cs.Tmux(name + 'p', '%s play %s --dir %s --speed 20; touch %s; sleep 600'
                    % (h.binary('sessrecctl'), S['mixed'], D.shards, done))
        self.addCleanup(t.kill)
        self.assertTrue(h.wait_for(lambda: os.path.exists(done), 15))
        time.sleep(0.3)
        self.assertIn('progress 100%', ref.screen())
        self.assertEqual(t.screen(), ref.screen())

    def test_follow_live_session_and_status(self):
        flag = os.path.join(T, 'go')
        p = h.record(D.sock, "echo phase-one; while [ ! -e %s ]; do sleep 0.1; done; echo phase-two; "
                             "sleep 0.3; exit 0" % flag)
        self.addCleanup(p.finish)
        self.assertTrue(h.wait_for(lambda: h.sids_with_output(D.lines(), b'phase-one'), 10))
        sid = h.sids_with_output(D.lines(), b'phase-one')[0]
        r = h.ctl('list', '--json', '--dir', D.shards)
        self.assertEqual([o['state'] for o in map(json.loads, r.stdout.splitlines()) if o['sid'] == sid], ['live'])
        r = h.ctl('status', '--socket', D.sock)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(sid[:8], r.stdout.decode())
        self.assertRegex(r.stdout.decode(), r'\n1 live session, \d+ resumed after a restart\ncommands: \w+\n$')
        r = h.ctl('status', '--socket', D.sock, '--json')
        self.assertEqual([s['sid'] for s in json.loads(r.stdout)['sessions']], [sid])
        done = os.path.join(T, 'follow.done')
        t = cs.Tmux('ctle2ef%d' % os.getpid(), '%s play --follow %s --dir %s; echo $? > %s; sleep 600'
                    % (h.binary('sessrecctl'), sid[:10], D.shards, done))
        self.addCleanup(t.kill)
        self.assertTrue(t.wait_for('phase-one', 10), t.screen())
        self.assertNotIn('phase-two', t.screen())
        open(flag, 'w').close()
        self.assertTrue(t.wait_for('phase-two', 10), t.screen())
        self.assertEqual(p.wait(10), 0)
        self.assertTrue(h.wait_for(lambda: os.path.exists(done) and os.path.getsize(done), 10),
                        'play --follow did not stop at the end line')
        with open(done) as f:
            self.assertEqual(f.read().strip(), '0')

    def test_status_without_daemon(self):
        r = h.ctl('status', '--socket', os.path.join(T, 'no.sock'))
        self.assertEqual(r.returncode, 1)
        self.assertEqual(len(r.stderr.splitlines()), 1)
        self.assertIn(b'cannot reach sessrecd', r.stderr)


if __name__ == '__main__':
    unittest.main(verbosity=2)
