"""kill -9 of sessrecd again and again under bulk output, each time a fresh
daemon resuming the session from the keeper (no service manager): a
program prints a known stream on a real pty (multi-byte UTF-8 split across
its writes at odd places, 256 KiB bursts at full speed), the test's pty
master is the user's terminal. Afterwards, byte for byte: what the program
printed, what the terminal received and what the recording holds (its o
events, raw where present) are the same, and each resume wrote a marker
counting the output it recorded again and sent on. The only difference
allowed is the one a marker bounds: a terminal write that the kill cut
short ("up to N perhaps not shown"); bytes lost to the recording or
perhaps recorded twice are never allowed, and a read the kill cut short is
found again in the relay state (but for its last bytes when they equal the
fill pattern's: CUT_READ_SLACK).

run() is also what bench/bench_restarts.py measures with 100 restarts."""
import os
import random
import re
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
import harness_survive as hs  # noqa: E402

RESTARTS = int(os.environ.get('SESSREC_EXACT_RESTARTS', '8'))
RESUMED = re.compile(r'^resumed: (\d+) bytes recorded from the relay state, (\d+) bytes sent on to the terminal '
                     r'\((\d+) of them taken by a read the stop cut short\); (\d+) not recorded, '
                     r'(\d+) perhaps recorded twice, up to (\d+) perhaps not shown$')
FIELDS = ('rerecorded', 'resent', 'cut_read', 'unrecorded', 'unsure', 'unshown')
# A read the kill cut short is found in the ring up to the fill pattern: its
# last bytes are counted short when they equal the pattern's (one in 256 per
# byte); more than this many would be one in 2^32 per cut read.
CUT_READ_SLACK = 3

# The program: raw mode (no ONLCR: the bytes pass as written), a stream of
# 1 MiB blocks (a numbered ASCII header, then seeded text of 1- to 4-byte
# characters), written in pieces of odd sizes that split characters, in
# bursts until the stop file appears; then it says how much it wrote.
PROGRAM = r'''
import os, random, sys, time, tty
tty.setraw(1)
stop, count = sys.argv[1], sys.argv[2]
sizes = [1, 2, 3, 5, 7, 4093, 1021, 4099, 8191, 13, 65537, 3, 2, 30011]
def block(n):
    rnd = random.Random(n)
    chars = ['a', 'b', ' ', '\n', '\u00e9', '\u00df', '\u20ac', '\u2603', '\U0001f600', '\U00010348']
    text = ''.join(rnd.choice(chars) for _ in range(300000)).encode()
    return (b'[block %d]' % n + text)[:1 << 20]
n = written = k = 0
buf = b''
while not os.path.exists(stop):
    burst = 0
    while burst < (256 << 10):
        if len(buf) < 70000:
            buf += block(n)
            n += 1
        size = sizes[k % len(sizes)]
        k += 1
        w = os.write(1, buf[:size])
        buf = buf[w:]
        written += w
        burst += w
    time.sleep(0.02)
with open(count, 'w') as f:
    f.write(str(written))
'''


def expected(total):
    """The first total bytes of the program's stream."""
    import random as r
    out = bytearray()
    n = 0
    chars = ['a', 'b', ' ', '\n', '\u00e9', '\u00df', '\u20ac', '\u2603', '\U0001f600', '\U00010348']
    while len(out) < total:
        rnd = r.Random(n)
        text = ''.join(rnd.choice(chars) for _ in range(300000)).encode()
        out += (b'[block %d]' % n + text)[:1 << 20]
        n += 1
    return bytes(out[:total])


def holes(exp, got, window=1 << 20):
    """The runs of exp that got leaves out, as [(offset in exp, length)],
    when got is exp with some runs left out (else None: extra, repeated or
    changed bytes)."""
    i = j = 0
    out = []
    while j < len(got):
        step = 1 << 16
        while step:
            if exp[i:i + step] == got[j:j + step] and j + step <= len(got):
                i += step
                j += step
            else:
                step >>= 1
        if j >= len(got):
            break
        probe = got[j:j + 256]
        f = exp.find(probe, i, i + window + len(probe))
        if f <= i:
            return None
        out.append((i, f - i))
        i = f
    if i < len(exp):
        out.append((i, len(exp) - i))
    return out


class Terminal:
    """The user's side of the session's pty: everything read, kept in a bytearray."""

    def __init__(self, pty):
        self.p = pty
        self.out = bytearray()

    def pump(self, seconds):
        end = time.time() + seconds
        while time.time() < end and not self.p.closed:
            import select
            r, _, _ = select.select([self.p.master], [], [], 0.005)
            if r:
                try:
                    d = os.read(self.p.master, 1 << 20)
                except OSError:
                    d = b''
                if not d:
                    self.p.closed = True
                    break
                self.out += d


def run(tc, restarts, seed=1):
    """The scenario; returns its figures. tc: a TestCase for the checks."""
    rnd = random.Random(seed)
    d = h.Daemon(conf={'Recording': {'SessionMaxBytes': '64G'}})
    tc.addCleanup(d.cleanup)
    keeper = hs.keeper_of(d.pid)
    tc.assertIsNotNone(keeper, 'the daemon started no keeper')

    def reap_keeper():
        if h.alive(keeper):
            os.kill(keeper, 9)
        hs.wait_gone(keeper, 5)
    tc.addCleanup(reap_keeper)
    prog = os.path.join(d.tmp, 'gen.py')
    stop, count = os.path.join(d.tmp, 'stop'), os.path.join(d.tmp, 'count')
    with open(prog, 'w') as f:
        f.write(PROGRAM)
    p = h.record(d.sock, 'exec python3 %s %s %s' % (prog, stop, count))
    tc.addCleanup(p.finish)
    term = Terminal(p)
    term.pump(1.0)
    t0 = time.time()
    for _ in range(restarts):
        term.pump(rnd.uniform(0.05, 0.3))
        hs.kill9(d)
        term.pump(rnd.uniform(0.0, 0.1))
        d.start()
    term.pump(0.5)
    with open(stop, 'w'):
        pass
    end = time.time() + 60
    while p.poll() is None and time.time() < end:
        term.pump(0.1)
    term.pump(0.5)
    tc.assertEqual(p.poll(), 0, 'the program did not end well: %r' % bytes(term.out[-300:]))
    elapsed = time.time() - t0
    with open(count) as f:
        total = int(f.read())
    sids = [o['sid'] for _, o in d.lines() if o and 'hdr' in o]
    tc.assertEqual(len(sids), 1, 'recordings: %r' % sids)
    sid = sids[0]
    tc.assertIsNotNone(d.wait_end(sid, 30), 'no end line')
    lines = d.lines()
    h.check_shard_sane(tc, lines)
    rec = h.channel_bytes(lines, sid, 'o')
    marks = hs.markers(lines, sid)
    tc.assertEqual(len(hs.gap_markers(lines, sid)), restarts, 'gap markers: %r' % marks)
    counts = [dict(zip(FIELDS, map(int, m.groups()))) for m in map(RESUMED.match, marks) if m]
    tc.assertEqual(len(counts), restarts, 'resume markers: %r' % marks)
    sums = {k: sum(c[k] for c in counts) for k in FIELDS}
    tc.assertEqual(sums['unrecorded'], 0, 'output lost to the recording: %r' % counts)
    tc.assertEqual(sums['unsure'], 0, 'output perhaps recorded twice: %r' % counts)
    printed = expected(total)
    term = bytes(term.out)
    th, rh = holes(printed, term), holes(printed, rec)
    tc.assertIsNotNone(th, 'the terminal got bytes the program did not print (repeated or changed)')
    tc.assertIsNotNone(rh, 'the recording holds bytes the program did not print (repeated or changed)')
    term_lost, rec_lost = sum(n for _, n in th), sum(n for _, n in rh)
    slack = CUT_READ_SLACK * sum(1 for c in counts if c['cut_read'])
    tc.assertLessEqual(rec_lost, slack, 'recording holes %r; markers %r' % (rh, counts))
    tc.assertLessEqual(term_lost, slack + sums['unshown'], 'terminal holes %r; markers %r' % (th, counts))
    return {'restarts': restarts, 'printed': total, 'seconds': elapsed, 'terminal_lost': term_lost,
            'recording_lost': rec_lost, 'terminal_holes': len(th), 'recording_holes': len(rh), **sums,
            'resumes_with_bytes_in_flight': sum(1 for c in counts if c['rerecorded'] or c['resent'])}


class ExactTest(unittest.TestCase):
    def test_kill9_restarts_exact(self):
        r = run(self, RESTARTS)
        sys.stderr.write('exact resume: %r\n' % r)
        # Nothing marks more than a cut system call; in most runs nothing at all.
        self.assertGreater(r['printed'], 0)


if __name__ == '__main__':
    unittest.main()
