"""sessrecctl play in a real terminal (a tmux pane, 80x24, private server):
the final screen is the one the session showed (the same bytes cat'ed in a
second pane), pause / step / quit keys, --speed and --idle-limit, the
terminal restored (stty -a before and after) after q, Ctrl-C, SIGINT and
SIGTERM; --follow shows a live session's lines as they are appended, a line
written in two halves included, and stops at its end line."""
import os
import shutil
import subprocess
import sys
import time
import itertools
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ctlshard as cs  # noqa: E402
import harness as h  # noqa: E402

T = None
S = {}
NOW = int(time.time()) - 60
SERVERS = itertools.count()


def screen_bytes():
    out = [(0.05, b'\x1b[1;31mred title\x1b[0m\r\n')]
    out += [(0.05 + i * 0.01, b'scrolling line %d \xe2\x82\xac\r\n' % i) for i in range(1, 31)]
    out += [(0.5, b'\x1b[2J\x1b[H\x1b[7m  box  \x1b[0m\r\n'), (0.6, b'\x1b[5;10Hat 5,10\x1b[10;1H'),
            (0.7, b'progress 10%\rprogress 100%\r\ncaf\xc3\xa9 \xf0\x9f\x98\x80 end$ ')]
    return out


def setUpModule():
    global T
    T = h.tmpdir('ctl-play-')
    S['dir'] = os.path.join(T, 'shards')
    w = cs.ShardWriter(S['dir'], ts=NOW)
    S['screen_out'] = screen_bytes()
    S['screen'] = w.session(out=S['screen_out'])
    S['ticks'] = w.session(out=[(0.3 + 0.6 * i, b'tick %d\r\n' % i) for i in range(1, 7)] + [(4.0, b'done\r\n')])
    S['slow'] = w.session(out=[(0.0, b'a\r\n'), (4.0, b'z\r\n')])
    S['idle'] = w.session(out=[(0.0, b'a\r\n'), (30.0, b'z\r\n')])
    S['live'] = cs.new_sid()
    w.hdr(S['live'])
    w.event(S['live'], 0.1, 'o', b'first\r\n')
    w.close()
    S['path'] = w.path


def tearDownModule():
    if T:
        shutil.rmtree(T, ignore_errors=True)


class PlayTest(unittest.TestCase):
    def setUp(self):
        self.tm = []
        self.n = 0

    def tearDown(self):
        for t in self.tm:
            t.kill()

    def pane(self, script):
        """A tmux pane running script (sh); its files live in a fresh dir."""
        self.n += 1
        d = os.path.join(T, '%s-%d' % (self._testMethodName, self.n))
        os.mkdir(d)
        t = cs.Tmux('ctlplay%d-%d' % (os.getpid(), next(SERVERS)), 'cd %s && %s' % (d, script))
        self.tm.append(t)
        return t, d

    def play(self, sid, *args):
        """play in a pane between two `stty -a`; its pid in d/pid, its status in d/rc."""
        ctl = h.binary('sessrecctl')
        inner = "echo $$ > pid; exec %s play %s --dir %s %s" % (ctl, sid, S['dir'], ' '.join(args))
        t, d = self.pane("stty -a > before; sh -c '%s'; echo $? > rc; stty -a > after; sleep 600" % inner)
        self.assertTrue(h.wait_for(lambda: os.path.exists(os.path.join(d, 'pid')), 10))
        return t, d

    def finished(self, d, timeout=15):
        ok = h.wait_for(lambda: os.path.exists(os.path.join(d, 'after')) and
                        os.path.getsize(os.path.join(d, 'after')) > 0, timeout)
        self.assertTrue(ok, 'play did not end')
        time.sleep(0.1)
        with open(os.path.join(d, 'rc')) as f:
            rc = int(f.read())
        with open(os.path.join(d, 'before')) as f, open(os.path.join(d, 'after')) as g:
            self.assertEqual(f.read(), g.read(), 'terminal not restored')
        return rc

    def ticks(self, t):
        return sum(1 for l in t.screen().splitlines() if l.startswith('tick '))

    def test_final_screen_matches(self):
        raw = os.path.join(T, 'screen.raw')
        with open(raw, 'wb') as f:
            f.write(b''.join(d for _, d in S['screen_out']))
        ref, _ = self.pane('stty raw -echo; cat %s; sleep 600' % raw)
        t, d = self.play(S['screen'][:8])
        self.assertEqual(self.finished(d), 0)
        time.sleep(0.3)
        want = ref.screen()
        self.assertIn('at 5,10', want)
        self.assertIn('progress 100%', want)
        self.assertEqual(t.screen(), want)

    def test_pause_step_resume(self):
        t, d = self.play(S['ticks'])
        self.assertTrue(t.wait_for('tick 1'))
        t.keys('Space')
        time.sleep(0.2)
        n = self.ticks(t)
        time.sleep(1.5)
        self.assertEqual(self.ticks(t), n, 'output went on while paused')
        t.keys('.')
        self.assertTrue(h.wait_for(lambda: self.ticks(t) == n + 1, 3), 'step did not show one event')
        time.sleep(1.0)
        self.assertEqual(self.ticks(t), n + 1, 'step resumed play')
        t.keys('Space')
        self.assertTrue(t.wait_for('done', 10))
        self.assertEqual(self.finished(d), 0)

    def test_quit_key(self):
        t, d = self.play(S['ticks'])
        self.assertTrue(t.wait_for('tick 1'))
        t.keys('q')
        self.assertEqual(self.finished(d, 5), 0)
        self.assertNotIn('done', t.screen())

    def test_ctrl_c_key(self):
        t, d = self.play(S['ticks'])
        self.assertTrue(t.wait_for('tick 1'))
        t.keys('C-c')
        self.assertEqual(self.finished(d, 5), 0)

    def signal_test(self, sig, code):
        t, d = self.play(S['ticks'])
        self.assertTrue(t.wait_for('tick 1'))
        with open(os.path.join(d, 'pid')) as f:
            pid = int(f.read())
        os.kill(pid, sig)
        self.assertEqual(self.finished(d, 5), code)
        self.assertNotIn('done', t.screen())

    def test_sigint(self):
        self.signal_test(2, 130)

    def test_sigterm(self):
        self.signal_test(15, 143)

    def test_speed_and_idle_limit(self):
        t0 = time.time()
        t, d = self.play(S['slow'], '--speed', '4')
        self.assertEqual(self.finished(d), 0)
        took = time.time() - t0
        self.assertGreater(took, 0.9)  # the 4 s of the recording, at 4x
        self.assertLess(took, 3.5)
        t0 = time.time()
        t, d = self.play(S['idle'], '--idle-limit', '0.5')
        self.assertEqual(self.finished(d), 0)
        self.assertLess(time.time() - t0, 4)
        self.assertIn('z', t.screen())

    def test_follow(self):
        t, d = self.play(S['live'], '--follow')
        self.assertTrue(t.wait_for('first'), t.screen())

        def append(b):
            with open(S['path'], 'ab') as f:
                f.write(b)
        sid = S['live'].encode()
        append(b'{"sid":"%s","t":1.000000,"ch":"o","d":"second\\r\\n"}\n' % sid)
        self.assertTrue(t.wait_for('second', 5))
        append(b'{"sid":"%s","t":2.000000,"ch":"o",' % sid)
        time.sleep(0.4)
        append(b'"d":"third \\u001b[1mbold\\u001b[0m\\r\\n"}\n')
        self.assertTrue(t.wait_for('third bold', 5))
        self.assertFalse(os.path.exists(os.path.join(d, 'after')) and os.path.getsize(os.path.join(d, 'after')))
        append(b'{"sid":"%s","end":{"duration":3.0,"bytes_out":20,"bytes_in":0,"bytes_recorded":300,'
               b'"withheld":0,"resizes":0,"truncated":false,"reason":"exit","end":"x"}}\n' % sid)
        self.assertEqual(self.finished(d, 5), 0)


if __name__ == '__main__':
    unittest.main(verbosity=2)
