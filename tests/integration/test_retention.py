"""Retention (`sessrecctl prune`, sessrec-shards(5) "Retention"): a temp
shard directory of dated shards (old dates by name and mtime) is pruned by
the [Retention] keys: compressed past CompressAfterDays= (rotated siblings
too, times kept), deleted past KeepDays=, oldest first over MaxStoreSize=,
never a day holding a session on legal hold (LegalHold= user,
LegalHoldFile= sid prefix); the compressed files stay readable by list,
show and export byte for byte; each action is an event on the configured
syslog socket; the shard a live session writes is never touched; a daemon
that is down with sessions waiting for it stops the pruning. A real
sessrecd answers `list`; real ptys."""
import datetime
import gzip
import json
import os
import socket
import subprocess
import sys
import unittest
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

D = None
SD = 'relay@55555'
TODAY = datetime.datetime.now(datetime.timezone.utc).date()


def setUpModule():
    global D
    D = h.Daemon()


def tearDownModule():
    if D:
        D.cleanup()


def day(ago):
    return TODAY - datetime.timedelta(days=ago)


def shard_name(ago, suffix=''):
    return 'sessions-%s.jsonl%s' % (day(ago).isoformat(), suffix)


def session_text(ago, user, sid=None, size=0):
    """One whole session of day `ago` as shard lines; its sid."""
    sid = sid or str(uuid.uuid4())
    d = datetime.datetime.combine(day(ago), datetime.time(10, 0), datetime.timezone.utc)
    hdr = {'sid': sid, 'hdr': {'version': 2, 'width': 80, 'height': 24, 'timestamp': int(d.timestamp()),
                               'env': {'SHELL': '/bin/sh', 'TERM': 'xterm'}},
           'meta': {'user': user, 'uid': 1000, 'service': 'sshd', 'start': d.strftime('%Y-%m-%dT%H:%M:%S.000000Z'),
                    'input': True}}
    out = [hdr, {'sid': sid, 't': 0.5, 'ch': 'o', 'd': 'day-%d of %s\r\n' % (ago, user)}]
    pad = 'x' * 900 + '\r\n'
    while sum(len(json.dumps(o)) + 1 for o in out) < size:
        out.append({'sid': sid, 't': 0.6, 'ch': 'o', 'd': pad})
    out.append({'sid': sid, 'end': {'duration': 1.0, 'bytes_out': 10, 'bytes_in': 0, 'reason': 'exit'}})
    return ''.join(json.dumps(o, separators=(',', ':')) + '\n' for o in out), sid


def write_shard(dirpath, ago, text, suffix=''):
    path = os.path.join(dirpath, shard_name(ago, suffix))
    with open(path, 'a') as f:
        f.write(text)
    os.chmod(path, 0o640)
    t = datetime.datetime.combine(day(ago), datetime.time(23, 0), datetime.timezone.utc).timestamp()
    os.utime(path, (t, t))
    return path


class Syslog:
    """A datagram socket standing in for /dev/log."""

    def __init__(self, path):
        self.path = path
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.s.bind(path)
        self.s.settimeout(0.2)

    def events(self):
        got = []
        while True:
            try:
                got.append(h.parse_rfc5424(self.s.recv(8192).decode()))
            except socket.timeout:
                return got

    def close(self):
        self.s.close()


class RetentionTest(unittest.TestCase):
    def setUp(self):
        self.tmp = h.tmpdir('srit-ret-')
        os.chmod(self.tmp, 0o700)
        self.addCleanup(subprocess.run, ['rm', '-rf', self.tmp])
        self.dir = os.path.join(self.tmp, 'shards')
        os.mkdir(self.dir, 0o700)
        self.log = Syslog(os.path.join(self.tmp, 'log.sock'))
        self.addCleanup(self.log.close)

    def config(self, retention):
        path = os.path.join(self.tmp, 'd.conf')
        h.write_config(path, {'Daemon': {'StateDirectory': D.state},
                              'Syslog': {'Targets': 'devlog', 'DevLog': self.log.path},
                              'Retention': retention})
        return path

    def prune(self, retention, *more, shard_dir=None):
        return h.ctl('prune', '--config', self.config(retention), '--socket', D.sock,
                     '--dir', shard_dir or self.dir, *more)

    def test_compress_delete_hold(self):
        old, old_sid = session_text(40, 'alice')
        write_shard(self.dir, 40, old)
        held_head, held_sid = session_text(20, 'carol')
        write_shard(self.dir, 20, held_head, '.1')          # carol's session, rotated
        write_shard(self.dir, 20, session_text(20, 'bob')[0])  # the same day's base file
        ten, ten_sid = session_text(10, 'alice')
        write_shard(self.dir, 10, ten, '.1')
        write_shard(self.dir, 10, session_text(10, 'dave')[0])
        write_shard(self.dir, 3, session_text(3, 'erin')[0])
        recent = write_shard(self.dir, 1, session_text(1, 'frank')[0])
        mtime10 = os.stat(os.path.join(self.dir, shard_name(10, '.1'))).st_mtime
        r = self.prune({'CompressAfterDays': '2', 'KeepDays': '15', 'LegalHold': 'carol'})
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, b'')
        p = lambda ago, suffix='': os.path.join(self.dir, shard_name(ago, suffix))  # noqa: E731
        lines = r.stdout.decode().splitlines()
        self.assertEqual(lines[0], 'deleted %s (%d bytes, 40 days old, KeepDays=15)' % (p(40), len(old)))
        self.assertEqual(lines[1:3], ['kept %s: legal hold (carol)' % p(20, '.1'),
                                      'kept %s: legal hold (carol)' % p(20)])
        self.assertEqual([l.split(' (')[0] for l in lines[3:]],
                         ['compressed ' + p(a, s) for a, s in ((20, '.1'), (20, ''), (10, '.1'), (10, ''), (3, ''))])
        self.assertEqual(sorted(os.listdir(self.dir)),
                         sorted([shard_name(1), shard_name(3, '.gz'), shard_name(10, '.1.gz'), shard_name(10, '.gz'),
                                 shard_name(20, '.1.gz'), shard_name(20, '.gz')]))
        self.assertTrue(os.path.exists(recent))
        st = os.stat(p(10, '.1.gz'))
        self.assertEqual((st.st_mode & 0o777, st.st_uid, st.st_mtime), (0o640, 0, mtime10))
        with gzip.open(p(10, '.1.gz'), 'rt') as f:
            self.assertEqual(f.read(), ten)
        # readable as before: list, show, export from the compressed files
        r = h.ctl('list', '--json', '--dir', self.dir)
        self.assertEqual(r.returncode, 0, r.stderr)
        sids = {json.loads(x)['sid'] for x in r.stdout.splitlines()}
        self.assertEqual(len(sids), 6)
        self.assertIn(held_sid, sids)
        self.assertNotIn(old_sid, sids)
        r = h.ctl('export', '--format', 'raw', '--dir', self.dir, ten_sid)
        self.assertEqual((r.returncode, r.stdout), (0, b'day-10 of alice\r\n'), r.stderr)
        r = h.ctl('show', '--dir', self.dir, held_sid)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b'carol', r.stdout)
        # the events: one per action, on the syslog socket
        ev = self.log.events()
        self.assertEqual([e['msgid'] for e in ev], ['shard_deleted'] + ['shard_compressed'] * 5)
        self.assertEqual(ev[0]['sd'][SD], {'file': p(40), 'day': day(40).isoformat(), 'bytes': str(len(old)),
                                           'age_days': '40', 'reason': 'keep_days'})
        self.assertEqual(ev[3]['sd'][SD]['file'], p(10, '.1.gz'))
        self.assertEqual(ev[3]['sd'][SD]['bytes'], str(len(ten)))
        self.assertEqual(ev[3]['sd'][SD]['gz_bytes'], str(st.st_size))
        # a second run has nothing left to do
        r = self.prune({'CompressAfterDays': '2', 'KeepDays': '15', 'LegalHold': 'carol'})
        self.assertEqual((r.returncode, r.stdout.decode().splitlines()),
                         (0, ['kept %s: legal hold (carol)' % p(20, '.1.gz'),
                              'kept %s: legal hold (carol)' % p(20, '.gz')]))

    def test_size_cap_oldest_first(self):
        sizes = {}
        for ago in (9, 8, 7, 6, 5):
            text, sid = session_text(ago, 'ops', size=10000)
            if ago == 8:
                held = sid
            sizes[ago] = os.path.getsize(write_shard(self.dir, ago, text))
        holdfile = os.path.join(self.tmp, 'legal-hold')
        with open(holdfile, 'w') as f:
            f.write('# case 4711\n%s   # the 8-day-old session, by sid prefix\n' % held[:8])
        r = self.prune({'MaxStoreSize': '25K', 'LegalHoldFile': holdfile})
        self.assertEqual(r.returncode, 0, r.stderr)
        p = lambda ago: os.path.join(self.dir, shard_name(ago))  # noqa: E731
        self.assertEqual(r.stdout.decode().splitlines(), [
            'deleted %s (%d bytes, 9 days old, MaxStoreSize=25600)' % (p(9), sizes[9]),
            'kept %s: legal hold (%s)' % (p(8), held[:8]),
            'deleted %s (%d bytes, 7 days old, MaxStoreSize=25600)' % (p(7), sizes[7]),
            'deleted %s (%d bytes, 6 days old, MaxStoreSize=25600)' % (p(6), sizes[6])])
        self.assertEqual(sorted(os.listdir(self.dir)), sorted([shard_name(8), shard_name(5)]))
        ev = self.log.events()
        self.assertEqual([(e['msgid'], e['sd'][SD]['reason']) for e in ev], [('shard_deleted', 'max_store_size')] * 3)

    def test_dry_run_changes_nothing(self):
        write_shard(self.dir, 30, session_text(30, 'alice')[0])
        write_shard(self.dir, 5, session_text(5, 'alice')[0])
        before = sorted(os.listdir(self.dir))
        r = self.prune({'CompressAfterDays': '2', 'KeepDays': '15'}, '--dry-run')
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual([l.split(' (')[0] for l in r.stdout.decode().splitlines()],
                         ['would delete ' + os.path.join(self.dir, shard_name(30)),
                          'would compress ' + os.path.join(self.dir, shard_name(5))])
        self.assertEqual(sorted(os.listdir(self.dir)), before)
        self.assertEqual(self.log.events(), [])

    def test_live_session_shard_never_touched(self):
        tag = 'live-%s' % uuid.uuid4().hex[:8]
        p = h.record(D.sock, 'echo %s; read x; echo done-$x' % tag)
        self.addCleanup(p.finish)
        p.expect(tag.encode() + rb'\r\n', 10)
        shard = os.path.join(D.shards, shard_name(0))
        with open(shard, 'rb') as f:
            before = f.read()
        ino = os.stat(shard).st_ino
        # a month from now today's shard is old: only the live session keeps it
        later = (TODAY + datetime.timedelta(days=30)).isoformat()
        r = self.prune({'CompressAfterDays': '1', 'KeepDays': '2'}, '--today', later, shard_dir=D.shards)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.decode().splitlines(),
                         ['left to delete %s: a live session writes its day' % shard,
                          'left to compress %s: a live session writes its day' % shard])
        # the same file, grown by the session only (it may write meanwhile)
        self.assertEqual(os.stat(shard).st_ino, ino)
        with open(shard, 'rb') as f:
            self.assertEqual(f.read(len(before)), before)
        p.send('bye\r')
        p.expect(rb'done-bye\r\n')
        self.assertEqual(p.wait(10), 0)
        sid = h.sids_with_output(D.lines(), tag.encode())[0]
        self.assertIsNotNone(D.wait_end(sid))
        self.assertTrue(h.wait_for(lambda: not [s for s in json.loads(
            h.ctl('status', '--json', '--socket', D.sock).stdout)['sessions'] if s['sid'] == sid], 10))
        r = self.prune({'CompressAfterDays': '1'}, '--today', later, shard_dir=D.shards)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(r.stdout.decode().startswith('compressed %s (' % shard), r.stdout)
        r = h.ctl('export', '--format', 'raw', '--dir', D.shards, sid)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(tag.encode(), r.stdout)

    def test_daemon_down_with_sessions_waiting(self):
        write_shard(self.dir, 30, session_text(30, 'alice')[0])
        state = os.path.join(self.tmp, 'state')
        os.mkdir(state, 0o700)
        open(os.path.join(state, str(uuid.uuid4())), 'w').close()
        conf = os.path.join(self.tmp, 'down.conf')
        h.write_config(conf, {'Daemon': {'StateDirectory': state}, 'Retention': {'KeepDays': '1'}})
        gone = os.path.join(self.tmp, 'no.sock')
        r = h.ctl('prune', '--config', conf, '--socket', gone, '--dir', self.dir)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr.decode(), 'sessrecctl: prune: sessrecd is not answering on %s and 1 session '
                         'waits in %s for it; nothing pruned\n' % (gone, state))
        self.assertEqual(os.listdir(self.dir), [shard_name(30)])
        # no daemon and nothing waiting: no session is live
        for f in os.listdir(state):
            os.unlink(os.path.join(state, f))
        r = h.ctl('prune', '--config', conf, '--socket', gone, '--dir', self.dir)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(os.listdir(self.dir), [])


if __name__ == '__main__':
    unittest.main(verbosity=2)
