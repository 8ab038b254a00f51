#!/usr/bin/python3
"""bench_profile: where sessrecd's CPU goes while it records the engine
bench's mix (bench_engine.py's cat run), per component, from perf samples.

For each build given (the tree's, and with --compare an earlier one) a
private sessrecd with seals on records MB of the mix ROUNDS times while
`perf record -g` samples its threads; each sample is put in one component
by its kernel stack (which system call it is in) or, in user space, by its
function and library. The table gives the CPU seconds per 100 MB of output
(samples / sampling frequency) and the share of the samples, and the same for bench/null_relay.c, the relay that records
nothing, so what recording adds stands beside what the pty hop costs.

usage: bench_profile.py [--build DIR] [--compare DIR] [--mb N] [--rounds N]
Needs perf (Debian package linux-perf) and root."""
import argparse
import collections
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench_engine as be  # noqa: E402

# (component, test on the frames, innermost first) in order: the first that
# matches takes the sample.
KERNEL_SYSCALLS = [
    ('shard write (writev, ext4)', ('do_writev', '__x64_sys_writev', 'ext4_buffered_write_iter')),
    ('pty read (read)', ('tty_read', 'n_tty_read')),
    ('pty write (write)', ('file_tty_write', 'tty_write', 'n_tty_write', 'pty_write')),
    ('epoll_wait, epoll_ctl', ('do_epoll_wait', 'do_epoll_ctl', '__x64_sys_epoll_wait', '__x64_sys_epoll_ctl')),
    ('ioctl (winsize, termios, FIONREAD)', ('__x64_sys_ioctl',)),
    ('poll (null relay)', ('do_sys_poll', '__x64_sys_poll')),
]
USER = [
    ('encoder (shard_encode_event, x1b, UTF-8, base64)',
     lambda s, d: s.startswith(('shard_', 'shardx1b', 'enc_', 'utf8_', 'b64_', 'esc_'))),
    ('hash chain (SHA-256, OpenSSL)', lambda s, d: 'libcrypto' in d),
    ('seals (libsodium)', lambda s, d: 'libsodium' in d),
    ('relay ring (relaymem)', lambda s, d: s.startswith('relaymem_')),
    ('writer queue (writer, wlines, recline)', lambda s, d: s.startswith(('writer_', 'wlines_', 'recline_', 'entry_',
                                                                          'flush_direct', 'link_locked'))),
    ('libc (memcpy, malloc, locks)', lambda s, d: 'libc.so' in d),
]


def classify(frames):
    """frames: [(sym, dso)] innermost first."""
    syms = [s for s, _ in frames]
    leaf_sym, leaf_dso = frames[0]
    if leaf_dso.startswith('[kernel'):
        for name, keys in KERNEL_SYSCALLS:
            if any(s.startswith(k) for s in syms for k in keys):
                return name
        if any(s.startswith(('schedule', '__schedule', 'finish_task_switch')) for s in syms):
            return 'scheduling, interrupts (kernel, other)'
        return 'kernel, other'
    for name, test in USER:
        if test(leaf_sym, leaf_dso):
            return name
    return 'user, other (%s)' % os.path.basename(leaf_dso)


def parse_script(text, comms):
    """Counts per component of `perf script` output, samples of comms only."""
    counts = collections.Counter()
    frames, keep = [], False
    for line in text.splitlines() + ['']:
        if not line.strip():
            if keep and frames:
                counts[classify(frames)] += 1
            frames, keep = [], False
            continue
        if not line[0].isspace():
            keep = comms is None or line.split()[0] in comms
            continue
        parts = line.split(None, 2)
        if len(parts) < 2:
            continue
        sym = parts[1].split('+')[0]
        dso = parts[2].strip('()') if len(parts) > 2 else ''
        frames.append((sym, dso))
    return counts


FREQ = 4999


def profile(b, v, data, expect, rounds, perf_out, target_pid=None):
    """perf over rounds of the cat run; returns (counts, MB out). A daemon
    is sampled by its pid (every thread: the loop and the writer); the null
    relay, one process per run, is started under perf and its samples are
    told from the shell's and cat's by name."""
    cmd = ['perf', 'record', '-q', '-g', '-F', str(FREQ), '-o']
    outs = []
    if target_pid:
        outs.append(perf_out)
        p = subprocess.Popen(cmd + [perf_out, '-p', str(target_pid)], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        b.reaper.keep.add(p.pid)  # not one of the run's processes
        be.time.sleep(0.5)  # perf attaches
        for _ in range(rounds):
            b.run_cat(v, data, expect)
        p.send_signal(be.signal.SIGINT)
        p.wait()
        b.reaper.keep.discard(p.pid)
    else:
        inner = v.wrap
        for i in range(rounds):
            out = '%s.%d' % (perf_out, i)
            outs.append(out)
            w = be.Variant(v.name, lambda a, f, out=out: cmd + [out, '--'] + inner(a, f))
            b.run_cat(w, data, expect)
    counts = collections.Counter()
    for o in outs:
        text = subprocess.run(['perf', 'script', '-i', o, '-F', 'comm,ip,sym,dso'],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True).stdout
        counts += parse_script(text, None if target_pid else {'null_relay'})
    return counts, expect * rounds / 1e6


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--build', default=os.path.join(HERE, '..', 'build'))
    ap.add_argument('--compare', metavar='DIR', help='also profile the sessrecd built in DIR as sessrec@base')
    ap.add_argument('--mb', type=int, default=100)
    ap.add_argument('--rounds', type=int, default=3)
    args = ap.parse_args()
    if os.geteuid() != 0:
        be.die('run as root')
    if not shutil.which('perf'):
        be.die('needs perf (Debian package linux-perf)')
    be.set_subreaper()
    b = be.Bench(args)
    work = tempfile.mkdtemp(prefix='bench-profile.')
    try:
        builds = [('sessrec', args.build)] + ([('sessrec@base', args.compare)] if args.compare else [])
        daemons = [(n, be.Daemon(os.path.abspath(p), b.tmp, n.replace('@', '-'), b.reaper)) for n, p in builds]
        b.daemons += [d for _, d in daemons]
        vs = be.variants(daemons, lambda _: None, be.build_null_relay(b.tmp))
        data = os.path.join(b.tmp, 'data')
        size, newlines = be.make_data(data, args.mb * 1000 * 1000)[:2]
        expect = size + newlines
        results = []
        for v in vs:
            if v.name == 'bare':
                continue
            be.log('profiling %s: %d x %d MB' % (v.name, args.rounds, args.mb))
            counts, mb = profile(b, v, data, expect, args.rounds, os.path.join(work, v.name),
                                 v.daemon.proc.pid if v.daemon else None)
            results.append((v.name, counts, sum(counts.values()) / FREQ * 100 / mb))
        comps = []
        for _, counts, _ in results:
            for c, _ in counts.most_common():
                if c not in comps:
                    comps.append(c)
        head = '%-46s' % 'CPU s per 100 MB of output (share)' + ''.join('%22s' % n for n, _, _ in results)
        print(head)
        print('-' * len(head))
        for c in comps:
            row = '%-46s' % c
            for _, counts, per in results:
                total = sum(counts.values()) or 1
                share = counts.get(c, 0) / total
                row += '%22s' % ('%.3f (%4.1f%%)' % (per * share, 100 * share))
            print(row)
        print('%-46s' % 'total' + ''.join('%22s' % ('%.3f' % per) for _, _, per in results))
        print('samples: ' + ', '.join('%s %d' % (n, sum(c.values())) for n, c, _ in results))
    finally:
        b.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    main()
