#!/usr/bin/env python3
"""bench_restarts: how exactly sessions resume after kill -9 of sessrecd.

    python3 bench/bench_restarts.py [--build DIR] [--restarts N] [--runs R]

Runs the scenario of tests/integration/test_survive_exact.py (a program
printing a known stream in 256 KiB bursts at full speed, multi-byte UTF-8
split across writes; the daemon killed with SIGKILL N times, 100 by
default, a fresh one started each time, the keeper holding the session)
R times, and prints per run: bytes printed, the bytes the terminal and the
recording lack against what the program printed (holes), and what the
resume markers counted: output recorded again from the relay state, sent
on to the terminal, and the bounds of a read or terminal write the kill
cut short: bytes a cut read had taken (found in the ring) and a bound for
a cut terminal write. Root only (private daemon, real ptys)."""
import argparse
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'tests', 'integration'))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--build', default=os.path.join(HERE, '..', 'build'), help='the build directory (./build)')
    ap.add_argument('--restarts', type=int, default=100)
    ap.add_argument('--runs', type=int, default=1)
    args = ap.parse_args()
    os.environ['SESSREC_BUILD'] = os.path.abspath(args.build)
    import test_survive_exact as t  # noqa: E402 (needs SESSREC_BUILD)

    class Bench(unittest.TestCase):
        def runTest(self):
            pass
    total = {}
    for i in range(args.runs):
        tc = Bench()
        try:
            r = t.run(tc, args.restarts, seed=i + 1)
        finally:
            tc.doCleanups()
        print('run %d: %d restarts, %.1f MB printed in %.1f s; terminal lacks %d bytes (%d holes), recording '
              'lacks %d bytes (%d holes); markers: %d bytes recorded again, %d sent on, %d not recorded, '
              '%d perhaps twice, up to %d perhaps not shown; %d bytes of reads cut short found in the ring; '
              '%d resumes had bytes in flight'
              % (i + 1, r['restarts'], r['printed'] / 1e6, r['seconds'], r['terminal_lost'], r['terminal_holes'],
                 r['recording_lost'], r['recording_holes'], r['rerecorded'], r['resent'], r['unrecorded'],
                 r['unsure'], r['unshown'], r['cut_read'], r['resumes_with_bytes_in_flight']))
        for k, v in r.items():
            total[k] = total.get(k, 0) + v
    if args.runs > 1:
        print('all: %r' % total)


if __name__ == '__main__':
    main()
