"""sessrecctl against shards that change or break under it (issue 11 items
2, 3, 6, 7): a shard truncated (to 0, to half, to 4 KiB) while list, grep,
show, export or play --follow reads it ends in one clear message and exit
status 1, never a signal; rotated and gzipped siblings (logrotate's .1,
.2.gz, dateext) are read, a session cut by a rotation reads as one, and the
real logrotate run against a private daemon's shard directory loses no
session; status shows 1,000 live sessions and their true count; a gzip
shard cut in half is called truncated; a garbage file prints the first
corrupt lines and one count."""
import gzip
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ctlshard as cs  # noqa: E402
import harness as h  # noqa: E402
import harness_wire as hw  # noqa: E402

MiB = 1 << 20
CHUNK = 4 * MiB          # READER_CHUNK: the reader's mmap window
T = None
S = {}
DAY = '2026-12-01'
TS = 1796083200 + 3600   # 2026-12-01 01:00 UTC


def setUpModule():
    global T
    T = h.tmpdir('ctl-robust-')
    S['big'] = os.path.join(T, 'big.jsonl')
    S['sid'] = cs.new_sid()
    write_big(S['big'], S['sid'], 64 * MiB)


def tearDownModule():
    if T:
        shutil.rmtree(T, ignore_errors=True)


def write_big(path, sid, size):
    """One session of about size bytes (3000-byte output lines, 'needle'
    at the end of each) and its end line: what every command reads whole."""
    body = ('x' * 2980 + ' needle\\r\\n').encode()
    sid_b = sid.encode()
    w = cs.ShardWriter(os.path.dirname(path), ts=TS)
    w.hdr(sid, user='alice')
    w.close()
    with open(w.path, 'ab') as f:
        n, t, parts = 0, 0.0, []
        while n < size:
            t += 0.001
            line = b'{"sid":"%s","t":%s,"ch":"o","d":"%s"}\n' % (sid_b, cs.fmt_t(t), body)
            parts.append(line)
            n += len(line)
        f.write(b''.join(parts))
        f.write(('{"sid":"%s","end":{"duration":%.6f,"bytes_out":%d,"bytes_in":0,"bytes_recorded":%d,'
                 '"withheld":0,"resizes":0,"truncated":false,"reason":"exit","end":"x"}}\n'
                 % (sid, t + 1, n, n)).encode())
    os.rename(w.path, path)


def maps_of(pid, path):
    """File offsets at which pid maps path now."""
    offs = []
    try:
        with open('/proc/%d/maps' % pid) as f:
            for line in f:
                if line.rstrip('\n').endswith(path):
                    offs.append(int(line.split()[2], 16))
    except OSError:
        pass
    return offs


def mid_read(offs, size, min_off):
    """A window still ahead: the file is mapped at min_off or later, and at
    least three windows before its end."""
    return any(min_off <= o <= size - 3 * CHUNK for o in offs)


class Truncation(unittest.TestCase):
    """Each command is stopped (SIGSTOP) while it maps the shard with
    windows still to read, the shard is truncated, the command continued."""

    def truncated_under(self, argv, to, min_off=0):
        d = h.tmpdir('ctl-robust-tr-')
        self.addCleanup(shutil.rmtree, d, True)
        path = os.path.join(d, 'sessions-%s.jsonl' % DAY)
        size = os.path.getsize(S['big'])
        new = {'0': 0, 'half': size // 2, '4k': 4096}[to]
        for attempt in range(40):
            shutil.copyfile(S['big'], path)
            with open(path, 'rb') as f:  # warm: the command must not wait on the disk
                while f.read(1 << 24):
                    pass
            out = open(os.path.join(d, 'out'), 'wb')
            p = subprocess.Popen([h.binary('sessrecctl'), *argv, '--dir', d], stdout=out,
                                 stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, cwd=d)
            caught = False
            while p.poll() is None:
                if mid_read(maps_of(p.pid, path), size, min_off):
                    os.kill(p.pid, signal.SIGSTOP)
                    if mid_read(maps_of(p.pid, path), size, min_off):
                        caught = True
                        break
                    os.kill(p.pid, signal.SIGCONT)
            if not caught:
                p.communicate()
                out.close()
                continue
            os.truncate(path, new)
            os.kill(p.pid, signal.SIGCONT)
            _, err = p.communicate(timeout=60)
            out.close()
            err = err.decode()
            self.assertGreaterEqual(p.returncode, 0, '%s killed by signal %d' % (argv[0], -p.returncode))
            self.assertEqual(p.returncode, 1, err)
            msg = 'sessrecctl: %s: changed while read (truncated from %d to %d bytes)' % (path, size, new)
            self.assertEqual(err.count(msg), 1, err)
            self.assertNotIn('corrupt line', err)
            return err
        self.fail('%s never caught reading the shard' % argv[0])

    def each(self, argv, min_off=0):
        for to in ('0', 'half', '4k'):
            with self.subTest(to=to):
                self.truncated_under(argv, to, min_off)

    def test_list(self):
        self.each(['list'])

    def test_list_json(self):
        self.each(['list', '--json'])

    def test_grep(self):
        self.each(['grep', 'no such text'])

    def test_show(self):
        # find maps the first two windows only: from the third on it is show's read
        self.each(['show', S['sid']], min_off=2 * CHUNK)

    def test_export(self):
        self.each(['export', S['sid'][:8], '--format', 'raw', '-o', 'x.raw'], min_off=2 * CHUNK)

    def test_play_follow(self):
        """A followed session whose shard is cut: one message, status 1."""
        for to in ('0', 'half', '4k'):
            with self.subTest(to=to):
                d = h.tmpdir('ctl-robust-pf-')
                self.addCleanup(shutil.rmtree, d, True)
                w = cs.ShardWriter(d, ts=TS)
                sid = w.session(out=[(0.1 * i, b'line %d of the live one\r\n' % i) for i in range(400)],
                                end=False, user='bob')
                w.event(sid, 99.0, 'o', b'last-before-cut\r\n')
                w.close()
                size = os.path.getsize(w.path)
                new = {'0': 0, 'half': size // 2, '4k': 4096}[to]
                self.assertGreater(size, 8192)
                p = subprocess.Popen([h.binary('sessrecctl'), 'play', '--follow', sid[:8], '--dir', d],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
                got = b''
                os.set_blocking(p.stdout.fileno(), False)
                deadline = time.monotonic() + 20
                while b'last-before-cut' not in got and time.monotonic() < deadline and p.poll() is None:
                    time.sleep(0.02)
                    got += p.stdout.read() or b''
                self.assertIn(b'last-before-cut', got)
                os.truncate(w.path, new)
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
                    self.fail('play --follow did not notice the cut shard')
                err = p.stderr.read().decode()
                p.stdout.close()
                p.stderr.close()
                self.assertEqual(p.returncode, 1, err)
                msg = 'sessrecctl: %s: changed while read (truncated from %d to %d bytes)' % (w.path, size, new)
                self.assertEqual(err.count(msg), 1, err)


def shard_name(suffix):
    return 'sessions-%s.jsonl%s' % (DAY, suffix)


def gz_file(path):
    with open(path, 'rb') as f, gzip.open(path + '.gz', 'wb') as g:
        g.write(f.read())
    os.unlink(path)


class Rotation(unittest.TestCase):
    def test_siblings_and_a_cut_session(self):
        """dateext .gz, .2.gz, .1 and the day shard; a session begun in .1
        and ended in the day shard reads as one; a copy in another
        directory stays another recording."""
        d = h.tmpdir('ctl-robust-rot-')
        self.addCleanup(shutil.rmtree, d, True)
        sids = {}
        for suffix, gz in (('-20261201', True), ('.2', True), ('.1', False), ('', False)):
            w = cs.ShardWriter(d, ts=TS)
            sids[suffix] = w.session(out=[(0.2, ('whole in %r\r\n' % suffix).encode())], user='carol')
            if suffix == '.1':
                cut = cs.new_sid()
                w.hdr(cut, user='dave')
                w.event(cut, 0.5, 'o', b'before the rotation\r\n')
            if suffix == '':
                w.event(cut, 1.5, 'o', b'after the rotation\r\n')
                w.end(cut, 2.0, bytes_out=42, recorded=42)
            w.close()
            if suffix:
                os.rename(w.path, os.path.join(d, shard_name(suffix)))
                if gz:
                    gz_file(os.path.join(d, shard_name(suffix)))
        names = sorted(os.listdir(d))
        self.assertEqual(names, [shard_name(s) for s in ('', '-20261201.gz', '.1', '.2.gz')])
        r = h.ctl('list', '--json', '--dir', d)
        self.assertEqual((r.returncode, r.stderr), (0, b''))
        objs = {o['sid']: o for o in map(json.loads, r.stdout.splitlines())}
        self.assertEqual(set(objs), set(sids.values()) | {cut})
        for o in objs.values():
            self.assertEqual(o['state'], 'ended', o)
        self.assertEqual((objs[cut]['user'], objs[cut]['bytes_out']), ('dave', 42))
        self.assertEqual(objs[cut]['shard'], os.path.join(d, shard_name('.1')))
        # show, export and grep read on from .1 into the day shard
        r = h.ctl('export', cut[:8], '--format', 'raw', '--dir', d, '-o', os.path.join(d, 'cut.raw'))
        self.assertEqual((r.returncode, r.stderr), (0, b''))
        with open(os.path.join(d, 'cut.raw'), 'rb') as f:
            self.assertEqual(f.read(), b'before the rotation\r\nafter the rotation\r\n')
        r = h.ctl('show', cut, '--dir', d)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b'41 bytes recorded in 2 events', r.stdout)  # one in each file
        r = h.ctl('grep', '--user', 'dave', 'after the', '--dir', d)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.decode().split()[0], cut[:8])
        for suffix, sid in sids.items():
            r = h.ctl('export', sid[:8], '--format', 'raw', '--dir', d, '-o', os.path.join(d, 'x.raw'))
            self.assertEqual(r.returncode, 0, r.stderr)
            with open(os.path.join(d, 'x.raw'), 'rb') as f:
                self.assertEqual(f.read(), ('whole in %r\r\n' % suffix).encode())
        # a copy of the day shard elsewhere: its sessions are not merged into these
        other = h.tmpdir('ctl-robust-copy-')
        self.addCleanup(shutil.rmtree, other, True)
        shutil.copy(os.path.join(d, shard_name('')), other)
        r = h.ctl('list', '--json', '--dir', d, '--dir', other)
        self.assertEqual(r.returncode, 0, r.stderr)
        objs = {o['sid']: o for o in map(json.loads, r.stdout.splitlines())}
        self.assertEqual(objs[cut]['bytes_out'], 42)
        self.assertEqual(objs[cut]['user'], 'dave')

    def test_logrotate_under_the_daemon(self):
        """The snippet of sessrec-shards(5), Rotation, run by the real
        logrotate (-f, so minage does not hold it back) against a private
        daemon's shard directory, twice; then a rename alone (the snippet
        without compress) while a session is live, which goes on in the
        renamed file: list, grep and export find every session, whole."""
        if not shutil.which('logrotate'):
            self.skipTest('logrotate is not installed (scripts/deps)')
        D = h.Daemon()
        self.addCleanup(D.cleanup)
        with open(os.path.join(cs.SRC, 'man', 'sessrec-shards.5')) as f:
            man = f.read()
        m = re.search(r'\.SS Rotation.*?\.EX\n(.*?)\.EE', man, re.S)
        self.assertIsNotNone(m, 'no snippet in sessrec-shards(5), Rotation')
        snippet = m.group(1).replace('\\-', '-').replace('/var/lib/sessrec', D.shards)
        self.assertIn('compress', snippet)
        confs = {}
        for name, text in (('snippet', snippet), ('rename', snippet.replace('\tcompress\n', ''))):
            confs[name] = os.path.join(D.tmp, name + '.conf')
            with open(confs[name], 'w') as f:
                f.write(text)

        def rotate(name):
            r = subprocess.run(['logrotate', '-f', '-s', os.path.join(D.tmp, name + '.state'), confs[name]],
                               capture_output=True)
            self.assertEqual(r.returncode, 0, r.stderr)

        def record(tag):
            p = h.record(D.sock, "echo %s-out; exit 0" % tag)
            self.assertEqual(p.wait(20), 0)
            p.finish()

        record('first')
        rotate('snippet')
        record('second')
        rotate('snippet')
        live = h.record(D.sock, "echo live-part-1; read x; echo live-part-2; exit 0")
        live.expect('live-part-1')
        rotate('rename')
        record('third')
        live.send('go\n')
        self.assertEqual(live.wait(20), 0)
        live.finish()
        names = sorted(os.listdir(D.shards))
        for suffix in ('.1', '.1.gz', '.2.gz'):
            self.assertTrue(any(n.endswith('.jsonl' + suffix) for n in names), (suffix, names))
        r = h.ctl('list', '--json', '--dir', D.shards)
        self.assertEqual((r.returncode, r.stderr), (0, b''))
        objs = list(map(json.loads, r.stdout.splitlines()))
        self.assertEqual(len(objs), 4, objs)
        self.assertEqual({o['state'] for o in objs}, {'ended'})
        for tag in ('first-out', 'second-out', 'third-out', 'live-part-2'):
            r = h.ctl('grep', tag, '--dir', D.shards)
            self.assertEqual(r.returncode, 0, (tag, r.stderr))
            sid8 = r.stdout.split()[0].decode()
            r = h.ctl('export', sid8, '--format', 'text', '--dir', D.shards, '-o', os.path.join(D.tmp, 'x.txt'))
            self.assertEqual((r.returncode, r.stderr), (0, b''))
            with open(os.path.join(D.tmp, 'x.txt')) as f:
                txt = f.read()
            self.assertIn(tag, txt)
            if tag == 'live-part-2':
                self.assertIn('live-part-1', txt)


class Status(unittest.TestCase):
    def test_thousand_live_sessions(self):
        """990 sessions opened as pam_sessrec opens them and 10 recorded by
        sessrecctl record: status lists all 1,000 and says so."""
        D = h.Daemon(conf={'Daemon': {'MaxSessions': '2000', 'TokenTimeoutSec': '3600'}})
        self.addCleanup(D.cleanup)
        want = set()
        for _ in range(990):
            rep = hw.open_session(D.sock)
            self.assertTrue(rep.get('ok'), rep)
            want.add(rep['sid'])
        recs = []
        for i in range(10):
            p = h.record(D.sock, 'echo rec-%d; sleep 600' % i)
            self.addCleanup(p.finish)
            recs.append(p)
        for i, p in enumerate(recs):
            p.expect('rec-%d' % i, 20)
        r = h.ctl('status', '--socket', D.sock, '--json')
        self.assertEqual((r.returncode, r.stderr), (0, b''))
        o = json.loads(r.stdout)
        got = [s['sid'] for s in o['sessions']]
        self.assertEqual(len(got), 1000)
        self.assertEqual(len(set(got)), 1000)
        self.assertTrue(want <= set(got))
        self.assertEqual(o['total'], 1000)
        r = h.ctl('status', '--socket', D.sock)
        self.assertEqual((r.returncode, r.stderr), (0, b''))
        lines = r.stdout.decode().splitlines()
        self.assertEqual(lines[-2], '1000 live sessions, 0 resumed after a restart')
        self.assertRegex(lines[-1], r'^commands: \w+')  # where command records come from
        # the header, the sessions, whether checkpoints are sealed, the count, the command source
        self.assertEqual(len(lines), 1 + 1000 + 3)
        self.assertTrue(lines[-3].startswith('checkpoints '), lines[-3])
        self.assertEqual({ln.split()[0] for ln in lines[1:-3]}, {s[:8] for s in got})
        # the daemon's pages: each one message, together every session once
        seen, offset, pages = [], 0, 0
        while offset is not None:
            rep = hw.call(D.sock, {'op': 'list', 'offset': offset} if offset else {'op': 'list'})
            self.assertEqual(rep['total'], 1000)
            seen += [s['sid'] for s in rep['sessions']]
            offset = rep.get('next')
            pages += 1
        self.assertEqual(sorted(seen), sorted(got))
        self.assertGreater(pages, 1)
        rep = hw.call(D.sock, {'op': 'list', 'offset': -1})
        self.assertIn('error', rep)


class Damage(unittest.TestCase):
    def test_gzip_cut_in_half(self):
        d = h.tmpdir('ctl-robust-gz-')
        self.addCleanup(shutil.rmtree, d, True)
        w = cs.ShardWriter(d, ts=TS, gz=True)
        rng = random.Random(11)
        sids = [w.session(out=[(0.1 * k, bytes(rng.randrange(32, 127) for _ in range(900)) + b'\r\n')
                               for k in range(40)]) for _ in range(20)]
        w.close()
        size = os.path.getsize(w.path)
        os.truncate(w.path, size // 2)
        r = h.ctl('list', '--dir', d)
        err = r.stderr.decode()
        self.assertEqual(err, 'sessrecctl: %s: truncated: the gzip data stops before its end '
                              '(the lines before the cut are read)\n' % w.path)
        self.assertIn(sids[0][:8], r.stdout.decode())
        self.assertEqual(r.returncode, 0)

    def test_garbage_file(self):
        """10 MB of lines that are no shard lines: five reported, then one count."""
        d = h.tmpdir('ctl-robust-junk-')
        self.addCleanup(shutil.rmtree, d, True)
        rng = random.Random(7)
        path = os.path.join(d, shard_name(''))
        lines = 0
        with open(path, 'wb') as f:
            n = 0
            while n < 10 * MiB:
                line = bytes(rng.choice(b'abc{}[]":,0123 \x01\xff') for _ in range(rng.randint(0, 400))) + b'\n'
                f.write(line)
                n += len(line)
                lines += 1
        r = h.ctl('list', '--dir', d)
        err = r.stderr.decode().splitlines()
        self.assertEqual(err[:5], ['sessrecctl: %s:%d: corrupt line skipped' % (path, k) for k in range(1, 6)])
        self.assertEqual(err[5:], ['sessrecctl: %d more corrupt lines in %s' % (lines - 5, path)])
        r = h.ctl('grep', 'x', '--dir', d)
        self.assertEqual(len(r.stderr.decode().splitlines()), 6)


if __name__ == '__main__':
    unittest.main(verbosity=2)
