"""A full disk mid-session (issue 11, item 5): the shard directory is a small
tmpfs in a private mount namespace; a filler file takes the rest of it
while the session prints numbered records, then goes. No line written
after a failed one precedes its loss marker: the recording is the
terminal's stream cut only where a "write failed (ENOSPC); N bytes lost
(M of output, K of input)" marker stands (each piece a contiguous run of
what the terminal got); the counters are exact: bytes_recorded in the end
line is the length of the session's lines before it, lost_bytes the sum of
the markers' N, and the output recorded plus the markers' M is every byte
the session printed (bytes_out, what the terminal got);
recording_degraded (reason ENOSPC) and recording_resumed (lost_bytes N)
events; session_recorded tells it apart from the cap (truncated=false,
degraded=true).

The restart case: the daemon is killed (kill -9) while the disk is full,
a new one resumes the session while it stays full, then the filler goes.
The loss marker comes before every later line of the session; the output
count is still exact (the relay state and the shard tell where the loss
began), the count of line bytes and input is "at least" (the lines the
killed daemon counted after its last save died with it), said in the
marker, the end line and session_recorded (lost_at_least); the resume
marker counts no output as not recorded nor recorded twice. The same after
a kill -9 once the loss was stated and writing works again: the hole the
marker states is not counted again by the resume."""
import errno
import os
import re
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
import harness_survive as hs  # noqa: E402

LOSS = re.compile(r'^write failed \((E[A-Z]+)\); (\d+) bytes lost \((\d+) of output, (\d+) of input\)$')
# After a restart during the loss: the line bytes and the input are lower bounds, the output exact.
LOSS_RESTART = re.compile(r'^write failed \((E[A-Z]+)\); at least (\d+) bytes lost \((\d+) of output, at least (\d+) '
                          r'of input\); part of the count died with the recorder restarted during the loss$')
RESUMED = re.compile(r'^resumed: \d+ bytes recorded from the relay state, \d+ bytes sent on to the terminal '
                     r'\(\d+ of them taken by a read the stop cut short\); (\d+) not recorded, '
                     r'(\d+) perhaps recorded twice, up to \d+ perhaps not shown$')

# Prints N numbered records of 100 bytes for each number it reads; no echo,
# no canonical mode (typed input is not a secret, nor part of the output).
PROGRAM = r'''
import sys, termios
a = termios.tcgetattr(0)
a[3] &= ~(termios.ECHO | termios.ICANON)
termios.tcsetattr(0, termios.TCSANOW, a)
n = 0
sys.stdout.write("READY\n"); sys.stdout.flush()
buf = ""
while True:
    c = sys.stdin.read(1)
    if c in ("\r", "\n"):
        if buf == "quit":
            break
        for i in range(int(buf)):
            n += 1
            sys.stdout.write("R%06d %s\n" % (n, "x" * 91))
        sys.stdout.write("DONE%d\n" % n); sys.stdout.flush()
        buf = ""
    else:
        buf += c
'''


def fill(path):
    """Writes path until the filesystem is full."""
    block = b'\0' * 65536
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        while True:
            try:
                os.write(fd, block)
            except OSError as e:
                if e.errno != errno.ENOSPC:
                    raise
                if len(block) == 1:
                    return
                block = block[:len(block) // 2]
    finally:
        os.close(fd)


class DiskFullTest(unittest.TestCase):
    def setUp(self):
        self.d = h.Daemon(conf={'Recording': {'MinFreeSpace': '0'}}, start=False)
        self.addCleanup(self.d.cleanup)
        self.shards = self.d.shards
        os.makedirs(self.shards)
        subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=256k,mode=0700', 'tmpfs', self.shards], check=True)
        self.addCleanup(subprocess.run, ['umount', '-l', self.shards])
        self.d.start()
        self.filler = os.path.join(self.shards, 'filler')

    def fill_while_printing(self, keeper=False):
        """Starts PROGRAM, prints 20 lines, fills the disk and prints 300 more
        into it; returns (session, sid, recording_degraded events)."""
        p = h.record(self.d.sock, 'exec python3 -c \'%s\'' % PROGRAM.replace("'", "'\\''"))
        self.addCleanup(p.finish)
        p.expect(rb'READY\r\n')
        sid = h.wait_for(lambda: h.sids_with_output(self.d.lines(), b'READY'), 5)[0]
        if keeper:
            k = hs.keeper_of(self.d.pid)
            self.assertIsNotNone(k, 'the daemon started no keeper')
            self.addCleanup(lambda: h.alive(k) and os.kill(k, 9))
        p.send('20\r')
        p.expect(rb'DONE20\r\n')
        fill(self.filler)
        p.send('300\r')
        p.expect(rb'DONE320\r\n')
        deg = self.d.wait_event('recording_degraded', sid, timeout=10)
        self.assertEqual(len(deg), 1, 'recording_degraded events: %r' % self.d.output()[-1500:])
        return p, sid, deg

    def test_fill_and_empty(self):
        p, sid, deg = self.fill_while_printing()
        self.assertEqual(deg[0]['sd']['relay@55555']['reason'], 'ENOSPC')
        p.send('300\r')                 # printed while the disk stays full
        p.expect(rb'DONE620\r\n')
        os.unlink(self.filler)
        res = self.d.wait_event('recording_resumed', sid, timeout=10)
        self.assertEqual(len(res), 1, 'recording_resumed events: %r' % self.d.output()[-1500:])
        p.send('50\r')
        p.expect(rb'DONE670\r\n')
        p.send('quit\r')
        self.assertEqual(p.wait(20), 0)
        end = self.d.wait_end(sid)
        self.assertIsNotNone(end, 'no end line')

        self.check_recording(p, sid, end, res, restarted=False)

    def test_kill9_after_loss(self):
        """kill -9 once the loss is stated: the resume neither records again
        output the recording holds nor counts the stated hole as not recorded."""
        p, sid, deg = self.fill_while_printing(keeper=True)
        os.unlink(self.filler)
        res = self.d.wait_event('recording_resumed', sid, timeout=10)
        self.assertEqual(len(res), 1, 'recording_resumed events: %r' % self.d.output()[-1500:])
        state = os.path.join(self.d.state, sid)
        self.assertTrue(h.wait_for(lambda: '"loss":{"stage":0' in open(state).read(), 10), 'the loss end not saved')
        p.send('50\r')
        p.expect(rb'DONE370\r\n')
        # bytes_recorded comes from the state file: kill once it is saved
        self.assertTrue(h.wait_for(lambda: '"bytes_out":%d,' % len(p.out) in open(state).read(), 10), 'not saved')
        hs.kill9(self.d)
        self.d.start()
        p.send('50\r')
        p.expect(rb'DONE420\r\n')
        p.send('quit\r')
        self.assertEqual(p.wait(20), 0)
        end = self.d.wait_end(sid)
        self.assertIsNotNone(end, 'no end line')
        self.check_recording(p, sid, end, res, restarted=False, last=b'R000420')

    def test_kill9_while_full(self):
        p, sid, deg = self.fill_while_printing(keeper=True)
        # the daemon has saved the loss (what a restart can know of it)
        state = os.path.join(self.d.state, sid)
        self.assertTrue(h.wait_for(lambda: '"loss":{"stage":2' in open(state).read(), 10), 'the loss was not saved')
        p.send('300\r')                 # counted lost, the count dies with the daemon
        p.expect(rb'DONE620\r\n')
        hs.kill9(self.d)
        self.d.start()
        fill(self.filler + '2')         # what the torn line cut off at the resume freed
        p.send('300\r')                 # printed by the new daemon while the disk stays full
        p.expect(rb'DONE920\r\n')
        before = len(self.d.events('recording_resumed', sid))  # a marker may have fitted in the file's last page
        os.unlink(self.filler)
        os.unlink(self.filler + '2')
        res = self.d.wait_event('recording_resumed', sid, timeout=10, count=before + 1)[before:]
        self.assertEqual(len(res), 1, 'recording_resumed events: %r' % self.d.output()[-1500:])
        p.send('50\r')
        p.expect(rb'DONE970\r\n')
        p.send('quit\r')
        self.assertEqual(p.wait(20), 0)
        end = self.d.wait_end(sid)
        self.assertIsNotNone(end, 'no end line')
        try:
            self.check_recording(p, sid, end, res, restarted=True)
        except AssertionError:
            print('DBG', [l for l in self.d.output().splitlines() if l.startswith('sessrecd:')],
                  [o.get('d') for _, o in self.d.lines() if o and o.get('ch') == 'm'], file=sys.stderr)
            raise

    def check_recording(self, p, sid, end, res, restarted, last=None):
        raws = [(raw, o) for raw, o in self.d.lines() if o and o.get('sid') == sid]
        h.check_shard_sane(self, raws)
        # before the kill a marker is exact; after it, the restart's marker says "at least"
        losses = (LOSS, LOSS_RESTART) if restarted else (LOSS,)
        # the stream is cut only at loss markers, each piece a run of the terminal's bytes
        pieces, cur, stated, stated_out = [], b'', [], []
        for _, o in raws:
            if o.get('ch') == 'o':
                cur += h.event_bytes(o)
            elif o.get('ch') == 'm' and RESUMED.match(o['d']):
                self.assertEqual(RESUMED.match(o['d']).groups(), ('0', '0'),
                                 'the resume counts output not recorded or recorded twice: %r; daemon: %s'
                                 % (o['d'], self.d.output()[-3000:]))
            elif o.get('ch') == 'm' and o['d'].startswith('write failed'):
                m = next((r.match(o['d']) for r in losses if r.match(o['d'])), None)
                self.assertIsNotNone(m, 'loss marker %r' % o['d'])
                self.assertEqual(m.group(1), 'ENOSPC')
                stated.append(int(m.group(2)))
                stated_out.append(int(m.group(3)))
                pieces.append(cur)
                cur = b''
        pieces.append(cur)
        self.assertGreaterEqual(len(stated), 1, 'no loss marker in %r' % [o.get('d') for _, o in raws if 'd' in o][:5])
        self.assertTrue(p.out.startswith(pieces[0]), 'the recording before the loss is not what the terminal got')
        self.assertTrue(p.out.endswith(pieces[-1]), 'the recording after the loss is not what the terminal got')
        at = 0
        for piece in pieces:
            i = p.out.find(piece, at)
            self.assertGreaterEqual(i, 0, 'a piece of the recording is not in the terminal\'s stream in order')
            at = i + len(piece)
        recorded = sum(len(piece) for piece in pieces)
        self.assertLess(recorded, len(p.out), 'nothing was lost')
        self.assertIn(last or (b'R000970' if restarted else b'R000670'), pieces[-1])
        # exact counters
        e = end['end']
        before_end = sum(len(raw) for raw, o in raws if 'end' not in o)
        self.assertEqual(e['bytes_recorded'], before_end, 'bytes_recorded is not the bytes of the lines')
        self.assertEqual(e['lost_bytes'], sum(stated), 'lost_bytes is not what the markers state')
        self.assertEqual(e['write_error'], 'ENOSPC')
        self.assertFalse(e['truncated'])
        self.assertEqual(e.get('lost_at_least', False), restarted)
        self.assertEqual(e['lost_output'], sum(stated_out))
        self.assertEqual(e['bytes_out'], len(p.out), 'bytes_out is not what the terminal got')
        self.assertEqual(recorded + sum(stated_out), len(p.out),
                         'output recorded (%d) + output lost (%d) is not what the session printed (%d)'
                         % (recorded, sum(stated_out), len(p.out)))
        # recording_resumed tells what its marker stated (after a restart, markers before it told the rest)
        told = slice(-1, None) if restarted else slice(None)
        self.assertEqual(int(res[0]['sd']['relay@55555']['lost_bytes']), sum(stated[told]))
        self.assertEqual(int(res[0]['sd']['relay@55555']['lost_output']), sum(stated_out[told]))
        rec = self.d.wait_event('session_recorded', sid)
        self.assertEqual(len(rec), 1)
        sd = rec[0]['sd']['relay@55555']
        self.assertEqual((sd['truncated'], sd['degraded'], sd['write_error'], sd['shard_lost']),
                         ('false', 'true', 'ENOSPC', 'false'))
        self.assertEqual(int(sd['lost_bytes']), sum(stated))
        self.assertEqual(int(sd['lost_output']), sum(stated_out))
        self.assertEqual(sd.get('lost_at_least', 'false'), 'true' if restarted else 'false')




if __name__ == '__main__':
    h.in_private_mount_ns()
    unittest.main()
