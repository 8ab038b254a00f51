"""Shards removed or rotated under a live session (issue 11, items 1 and 2).
rm of the day shard, and rm -rf of the shard directory, while a session
waits between two bursts of output: the daemon notices within its
once-a-second check, makes the directory (0700) and the file (0640) again,
and the session goes on there: its header line first (the file describes
itself), then a marker "shard replaced; N bytes written to the removed
file" with N exactly the bytes of its lines the removed file held; a
shard_lost event names the sid, the path and N; `sessrecctl show` of the
sid replays what the new file holds, and the end line counts the removed
bytes. A rename (logrotate) leaves the running session in the renamed file
and a new session opens the path anew: `sessrecctl list` finds it; the
session's state names the renamed file, so after kill -9 of the daemon
the resumed session goes on there. A shard removed while no daemon ran is
made again at resume, the session's header first."""
import os
import re
import shutil
import stat
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
import harness_survive as hs  # noqa: E402

# Two bursts of numbered lines, the second after a line of input.
SCRIPT = ('stty -echo; i=1; while [ $i -le 5 ]; do echo A$i; i=$((i+1)); done; echo WAITING; read x; '
          'i=1; while [ $i -le 5 ]; do echo B$i; i=$((i+1)); done; echo BYE')


class ShardLossTest(unittest.TestCase):
    def setUp(self):
        self.d = h.Daemon()
        self.addCleanup(self.d.cleanup)

    def start(self):
        p = h.record(self.d.sock, SCRIPT)
        self.addCleanup(p.finish)
        p.expect(rb'WAITING\r\n')
        sid = h.wait_for(lambda: h.sids_with_output(self.d.lines(), b'WAITING'), 5)[0]
        files = [f for f in os.listdir(self.d.shards) if f.endswith('.jsonl')]
        self.assertEqual(len(files), 1)
        return p, sid, os.path.join(self.d.shards, files[0])

    def session_bytes(self, path, sid):
        with open(path, 'rb') as f:
            return sum(len(raw) for raw in f if b'"sid":"%s"' % sid.encode() in raw)

    def finish(self, p, sid):
        p.send('go\r')
        p.expect(rb'BYE\r\n')
        self.assertEqual(p.wait(20), 0)

    def check_replaced(self, p, sid, path, gone):
        ev = self.d.wait_event('shard_lost', sid, timeout=10)
        self.assertEqual(len(ev), 1, 'shard_lost events: %r' % self.d.output()[-1500:])
        sd = ev[0]['sd']['relay@55555']
        self.assertEqual((sd['path'], int(sd['bytes'])), (path, gone))
        self.assertEqual(stat.S_IMODE(os.stat(self.d.shards).st_mode), 0o700)
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o640)
        self.finish(p, sid)
        end = self.d.wait_end(sid)
        self.assertIsNotNone(end, 'no end line')
        lines = [o for o in h.session_lines(self.d.lines(), sid)]
        self.assertIn('hdr', lines[0], 'the new file does not start with the session\'s header')
        self.assertEqual(lines[1].get('ch'), 'm')
        self.assertEqual(lines[1]['d'], 'shard replaced; %d bytes written to the removed file' % gone)
        self.assertEqual(end['end']['removed_bytes'], gone)
        out = h.channel_bytes(self.d.lines(), sid)
        self.assertNotIn(b'A1', out)
        self.assertTrue(p.out.endswith(out), 'the new file is not the rest of what the terminal got')
        self.assertIn(b'B1\r\nB2\r\nB3\r\nB4\r\nB5\r\nBYE\r\n', out)
        show = h.ctl('--dir', self.d.shards, 'show', sid)
        self.assertEqual(show.returncode, 0, show.stderr)
        self.assertIn(b'marker shard replaced; %d bytes written to the removed file' % gone, show.stdout)
        self.assertIn(b'ended (exit)', show.stdout)
        raw = h.ctl('--dir', self.d.shards, 'export', '--format', 'raw', sid)
        self.assertEqual(raw.returncode, 0, raw.stderr)
        self.assertEqual(raw.stdout, out)
        rec = self.d.wait_event('session_recorded', sid)
        self.assertEqual(rec[0]['sd']['relay@55555']['shard_lost'], 'true')
        self.assertEqual(int(rec[0]['sd']['relay@55555']['removed_bytes']), gone)

    def test_unlink_mid_session(self):
        p, sid, path = self.start()
        gone = self.session_bytes(path, sid)
        os.unlink(path)
        self.check_replaced(p, sid, path, gone)

    def test_rm_rf_directory_mid_session(self):
        p, sid, path = self.start()
        gone = self.session_bytes(path, sid)
        shutil.rmtree(self.d.shards)
        self.check_replaced(p, sid, path, gone)

    def test_rename_mid_session(self):
        p, sid, path = self.start()
        os.rename(path, path + '.1')
        q = h.record(self.d.sock, 'echo SECOND')
        self.addCleanup(q.finish)
        self.assertEqual(q.wait(20), 0)
        self.assertTrue(os.path.exists(path), 'the new session did not open the path anew')
        with open(path, 'rb') as f:
            first = f.readline()
        self.assertIn(b'"hdr"', first)
        sid2 = h.wait_for(lambda: h.sids_with_output(self.d.lines(), b'SECOND'), 5)
        self.assertEqual(len(sid2), 1)
        self.assertIsNotNone(self.d.wait_end(sid2[0]))
        ls = h.ctl('--dir', self.d.shards, 'list')
        self.assertEqual(ls.returncode, 0, ls.stderr)
        self.assertIn(sid2[0][:8].encode(), ls.stdout)
        # the running session stays in the renamed file, whole
        self.finish(p, sid)

        def rotated_end():
            with open(path + '.1', 'rb') as f:
                return [raw for raw in f if sid.encode() in raw and b'"end"' in raw]
        self.assertTrue(h.wait_for(rotated_end, 10), 'no end line in the renamed file')
        with open(path + '.1', 'rb') as f:
            rotated = f.read()
        self.assertIn(b'B5', rotated)
        with open(path, 'rb') as f:
            self.assertNotIn(sid.encode(), f.read())
        self.assertEqual(self.d.events('shard_lost'), [])

    def restart(self):
        keeper = hs.keeper_of(self.d.pid)
        self.assertIsNotNone(keeper)
        self.addCleanup(lambda: h.alive(keeper) and os.kill(keeper, 9))
        hs.kill9(self.d)
        return keeper

    def test_rename_then_kill9(self):
        p, sid, path = self.start()
        os.rename(path, path + '.1')
        # the tick notices the rename and saves the state with the new name
        # the state file is named by its sid (a listing may show the
        # temporary file of a write in progress)
        state = os.path.join(self.d.state, sid)
        def names_rotated():
            return (path + '.1') in (h.read_text(state) or '')
        self.assertTrue(h.wait_for(names_rotated, 10), 'the state file does not name the renamed shard')
        self.restart()
        self.d.start()
        self.assertEqual(len(self.d.wait_event('session_resumed', sid, timeout=10)), 1)
        self.finish(p, sid)

        def rotated_end():
            with open(path + '.1', 'rb') as f:
                return [raw for raw in f if sid.encode() in raw and b'"end"' in raw]
        self.assertTrue(h.wait_for(rotated_end, 10), 'no end line in the renamed file')
        self.assertFalse(os.path.exists(path) and sid.encode() in open(path, 'rb').read(),
                         'the resumed session went to the path')

    def test_removed_while_no_daemon(self):
        p, sid, path = self.start()
        gone = self.session_bytes(path, sid)
        self.restart()
        os.unlink(path)
        self.d.start()
        self.assertEqual(len(self.d.wait_event('session_resumed', sid, timeout=10)), 1)
        self.finish(p, sid)
        end = self.d.wait_end(sid)
        self.assertIsNotNone(end, 'no end line')
        lines = h.session_lines(self.d.lines(), sid)
        self.assertIn('hdr', lines[0], 'the re-made file does not start with the session\'s header')
        # the count the state file saved last: a lower bound, said so
        m = re.match(r'^shard replaced while no recorder ran; at least (\d+) bytes written to the removed file$',
                     lines[1]['d'])
        self.assertIsNotNone(m, lines[1])
        self.assertTrue(0 < int(m.group(1)) <= gone, (m.group(1), gone))
        self.assertEqual(end['end']['removed_bytes'], int(m.group(1)))
        self.assertEqual(len(self.d.wait_event('shard_lost', sid)), 1)


if __name__ == '__main__':
    unittest.main()
