#!/usr/bin/python3
"""Benchmark of sessrecctl over a large synthetic store (issue 4 targets):
`list` over ~1 GB of day shards against `grep -c '"hdr"'` on the same files,
`export` of a 100 MB session against `cat` of its shard, peak RSS of each
(GNU time). The shards are written in the exact shardline format into a
temporary directory under /tmp, removed afterwards. For `verify` (issue 16:
at least 500 MB/s) a private sessrecd with seals on records ~1 GB of the
engine bench's mix (bench_engine.py), so the chains and seals are the
daemon's own: `verify --all` with and without `--key`, and `list` against
grep on that store too. Warm page cache: every
file is read once before timing; each command runs three times, the best
wall time counts.

usage: bench_ctl.py [--build DIR] [--store-mb N] [--session-mb N] [--chained-mb N] [--keep]
SESSREC_BUILD (or --build) is the build directory holding sessrecctl."""
import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'tests', 'integration'))
sys.path.insert(0, HERE)
import ctlshard  # noqa: E402
import bench_engine  # noqa: E402

DAY = 86400


def payloads(rng):
    """A pool of escaped event bodies like a shell session's: echoed keys,
    prompts, colored ls output, long command output."""
    words = ('total drwxr-xr-x root alice 4096 Nov 24 10:41 bin etc usr var lib log sessions '
             'README.md main.c Makefile config.h \u00e9t\u00e9 caf\u00e9 \u20ac').split()
    small, large = [], []
    for _ in range(64):
        small.append(ctlshard.json_escape(rng.choice(words)[:rng.randint(1, 6)].encode())[0])
    for _ in range(128):
        lines = []
        for _ in range(rng.randint(3, 60)):
            w = ' '.join(rng.choice(words) for _ in range(rng.randint(2, 12)))
            if rng.random() < 0.3:
                w = '\x1b[01;34m%s\x1b[0m' % w
            lines.append(w)
        text = ('\r\n'.join(lines) + '\r\n\x1b]0;alice@web1: ~\x07alice@web1:~$ ').encode()
        large.append(ctlshard.json_escape(text[:3000])[0])
    return small, large


def hdr(sid, ts, user, src):
    return ('{"sid":"%s","hdr":{"version":2,"width":80,"height":24,"timestamp":%d,'
            '"env":{"SHELL":"/bin/bash","TERM":"xterm-256color"}},"meta":{"user":"%s","uid":1000,'
            '"service":"sshd","proto":"ssh","src_ip":"%s","src_port":50022,"tty":"/dev/pts/3",'
            '"host":"web1","start":"%s.000000Z","pid":4242,"input":true}}\n'
            % (sid, ts, user, src, time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(ts)))).encode()


def end(sid, dur, nbytes):
    return ('{"sid":"%s","end":{"duration":%.6f,"bytes_out":%d,"bytes_in":%d,"bytes_recorded":%d,'
            '"withheld":0,"resizes":0,"truncated":false,"reason":"exit","end":"2026-01-01T00:00:00.000000Z"}}\n'
            % (sid, dur, nbytes, nbytes // 20, nbytes)).encode()


def write_store(d, total, rng):
    """Day shards of total bytes; 8 sessions interleaved at a time, ~100 kB each."""
    small, large = payloads(rng)
    days = max(1, total // (34 << 20))
    per_day = total // days
    t0 = int(time.time()) // DAY * DAY - days * DAY
    nsess = 0
    for day in range(days):
        ts = t0 + day * DAY
        path = os.path.join(d, 'sessions-%s.jsonl' % time.strftime('%Y-%m-%d', time.gmtime(ts)))
        with open(path, 'wb', buffering=1 << 22) as f:
            size = 0
            live = []
            while size < per_day or live:
                if len(live) < 8 and size < per_day:
                    sid = str(uuid.uuid4())
                    ts += rng.randint(1, 60)
                    line = hdr(sid, ts, rng.choice(('alice', 'bob', 'root', 'carol')),
                               '192.0.2.%d' % rng.randint(1, 254))
                    live.append([sid, 0.0, 0, rng.randint(60_000, 140_000)])
                    nsess += 1
                    f.write(line)
                    size += len(line)
                s = rng.choice(live)
                s[1] += rng.random() * 2
                if rng.random() < 0.5:
                    ch, body = 'i', rng.choice(small)
                else:
                    ch, body = 'o', rng.choice(large)
                line = b'{"sid":"%s","t":%.6f,"ch":"%s","d":"%s"}\n' % (s[0].encode(), s[1], ch.encode(), body)
                f.write(line)
                size += len(line)
                s[2] += len(line)
                if s[2] >= s[3] or (size >= per_day and s[2] > 1000):
                    f.write(end(s[0], s[1] + 1, s[2]))
                    live.remove(s)
    return days, nsess


def write_big_session(d, total, rng):
    """One session of total output bytes (3000-byte chunks, the writer's
    size), every tenth line another session's."""
    _, large = payloads(rng)
    ts = int(time.time()) - 3600
    sid, other = str(uuid.uuid4()), str(uuid.uuid4())
    path = os.path.join(d, 'sessions-%s.jsonl' % time.strftime('%Y-%m-%d', time.gmtime(ts)))
    t = 0.0
    with open(path, 'wb', buffering=1 << 22) as f:
        f.write(hdr(other, ts, 'bob', '192.0.2.2'))
        f.write(hdr(sid, ts, 'alice', '192.0.2.1'))
        n = i = 0
        while n < total:
            t += 0.001
            body = large[i % len(large)]
            i += 1
            f.write(b'{"sid":"%s","t":%.6f,"ch":"o","d":"%s"}\n' % (sid.encode(), t, body))
            n += len(body)
            if i % 10 == 0:
                f.write(b'{"sid":"%s","t":%.6f,"ch":"o","d":"%s"}\n' % (other.encode(), t, large[0]))
        f.write(end(sid, t, n))
        f.write(end(other, t, 0))
    return sid, path


def record_chained(build, tmp, total_mb):
    """Records total_mb of the engine bench's mix through a private sessrecd
    (seals on), in sessions of at most 100 MB; returns its shard directory
    and a file holding the verification key keygen printed."""
    bench_engine.set_subreaper()
    b = bench_engine.Bench(None)
    try:
        d = bench_engine.Daemon(os.path.abspath(build), b.tmp, 'chained', b.reaper)
        b.daemons.append(d)
        v = bench_engine.sessrec_variant('sessrec', d)
        v.rec_path = None  # the bench clears a shard between runs; keep them
        mb = min(100, total_mb)
        data = os.path.join(b.tmp, 'data')
        size, newlines = bench_engine.make_data(data, mb * 1000 * 1000)[:2]
        for _ in range((total_mb + mb - 1) // mb):
            b.run_cat(v, data, size + newlines)
        d.stop()
        out = os.path.join(tmp, 'chained')
        shutil.copytree(d.shards, out)
    finally:
        b.stop()
    if not d.verify_key:
        sys.exit('sessrecctl keygen printed no verification key')
    key = os.path.join(tmp, 'verify.key')
    with open(key, 'w') as f:
        f.write(d.verify_key + '\n')
    return out, key


def measure(cmd, runs=5):
    """Best wall time of runs, and peak RSS (KiB) from GNU time."""
    best = None
    sink = os.path.join(tempfile.gettempdir(), 'bench-ctl-stdout')
    for _ in range(runs):
        with open(sink, 'wb') as out:  # not /dev/null: grep would stop at the first match
            t = time.perf_counter()
            subprocess.run(cmd, stdout=out, stderr=subprocess.DEVNULL, check=False)
            dt = time.perf_counter() - t
        best = dt if best is None else min(best, dt)
    with open(sink, 'wb') as out:
        r = subprocess.run(['/usr/bin/time', '-f', '%M', *cmd], stdout=out, stderr=subprocess.PIPE, check=False)
    os.unlink(sink)
    rss = int(r.stderr.decode().strip().splitlines()[-1])
    return best, rss


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--build', default=os.environ.get('SESSREC_BUILD', os.path.join(HERE, '..', 'build')))
    ap.add_argument('--store-mb', type=int, default=1024)
    ap.add_argument('--session-mb', type=int, default=100)
    ap.add_argument('--chained-mb', type=int, default=1000,
                    help='MB recorded through sessrecd for verify (0: skip)')
    ap.add_argument('--keep', action='store_true')
    a = ap.parse_args()
    ctlshard.BUILD = a.build
    ctl = ctlshard.find_bin('sessrecctl')
    if not os.path.exists('/usr/bin/time'):
        sys.exit('needs GNU time (/usr/bin/time, Debian package "time")')
    rng = random.Random(4)
    tmp = tempfile.mkdtemp(prefix='bench-ctl-', dir='/tmp')
    store, big = os.path.join(tmp, 'store'), os.path.join(tmp, 'big')
    os.makedirs(store)
    os.makedirs(big)
    try:
        t = time.perf_counter()
        days, nsess = write_store(store, a.store_mb << 20, rng)
        sid, bigpath = write_big_session(big, a.session_mb << 20, rng)
        files = sorted(os.path.join(store, f) for f in os.listdir(store))
        size = sum(os.path.getsize(f) for f in files)
        bigsize = os.path.getsize(bigpath)
        print('store: %d shards, %d sessions, %.2f GB; big session: %.0f MB shard (generated in %.0fs)'
              % (days, nsess, size / 1e9, bigsize / 1e6, time.perf_counter() - t))
        for f in files + [bigpath]:  # warm the page cache
            subprocess.run(['cat', f], stdout=subprocess.DEVNULL)
        raw = os.path.join(tmp, 'out.raw')
        rows = [
            ("grep -c '\"hdr\"' (store)", ['grep', '-c', '"hdr"', *files], size),
            ('sessrecctl list (store)', [ctl, 'list', '--dir', store], size),
            ('sessrecctl list --json (store)', [ctl, 'list', '--json', '--dir', store], size),
            ('sessrecctl list --user bob --since 3d', [ctl, 'list', '--user', 'bob', '--since', '3d', '--dir', store], size),
            ('cat (big shard)', ['cat', bigpath], bigsize),
            ('sessrecctl export --format raw', [ctl, 'export', sid, '--format', 'raw', '-o', raw, '--dir', big], bigsize),
            ('sessrecctl export (asciicast)', [ctl, 'export', sid, '-o', raw, '--dir', big], bigsize),
            ('sessrecctl export --format text', [ctl, 'export', sid, '--format', 'text', '-o', raw, '--dir', big], bigsize),
            ('sessrecctl export raw, sid prefix', [ctl, 'export', sid[:8], '--format', 'raw', '-o', raw,
                                                   '--dir', big, '--dir', store], bigsize + size),
            ('sessrecctl grep (store)', [ctl, 'grep', 'no such text', '--dir', store], size),
        ]
        if a.chained_mb:
            t = time.perf_counter()
            chained, key = record_chained(a.build, tmp, a.chained_mb)
            cfiles = sorted(os.path.join(chained, f) for f in os.listdir(chained))
            csize = sum(os.path.getsize(f) for f in cfiles)
            print('chained store: %.2f GB recorded by sessrecd with seals on (in %.0fs)'
                  % (csize / 1e9, time.perf_counter() - t))
            for f in cfiles:
                subprocess.run(['cat', f], stdout=subprocess.DEVNULL)
            r = subprocess.run([ctl, 'verify', '--all', '--key', key, '--dir', chained],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            if r.returncode != 0:  # a verify that fails fast measures nothing
                sys.exit('verify of the chained store failed:\n' + r.stdout[-2000:])
            rows += [
                ("grep -c '\"hdr\"' (chained store)", ['grep', '-c', '"hdr"', *cfiles], csize),
                ('sessrecctl list (chained store)', [ctl, 'list', '--dir', chained], csize),
                ('sessrecctl verify --all (chains)', [ctl, 'verify', '--all', '--dir', chained], csize),
                ('sessrecctl verify --all --key (seals)', [ctl, 'verify', '--all', '--key', key, '--dir', chained],
                 csize),
            ]
        print('%-40s %9s %9s %12s' % ('command', 'wall s', 'MB/s', 'peak RSS MiB'))
        for name, cmd, n in rows:
            wall, rss = measure(cmd)
            print('%-40s %9.3f %9.0f %12.1f' % (name, wall, n / 1e6 / wall, rss / 1024))
            sys.stdout.flush()
    finally:
        if a.keep:
            print('kept', tmp)
        else:
            shutil.rmtree(tmp)


if __name__ == '__main__':
    main()
