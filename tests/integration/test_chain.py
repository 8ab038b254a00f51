"""Hash chains and seals (issue 14) on real recordings: sessrecctl keygen
makes the key, sessrecd chains and seals every session's lines, and
`sessrecctl verify` and an independent verifier (verify_chain.py, written
from sessrec-shards(5)) agree on them. Each kind of tampering, on a copy of
a real multi-session shard, is found at the right line while the other
sessions stay ok; a kill -9 resume continues the chain; gzip shards and
live sessions verify; the key file taken later cannot make earlier seals;
session_recorded carries the final hash and seal."""
import gzip
import hashlib
import hmac
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
import harness_survive as hs  # noqa: E402
import verify_chain as vc  # noqa: E402

CTL = h.binary('sessrecctl')


def keygen(d, epoch=None):
    argv = [CTL, '--config', d.conf_path, 'keygen']
    if epoch:
        argv += ['--epoch', str(epoch)]
    g = subprocess.run(argv, capture_output=True, text=True, timeout=10)
    assert g.returncode == 0, g.stderr
    keys = [ln.strip() for ln in g.stdout.splitlines() if ln.startswith('    ')]
    assert len(keys) == 1, g.stdout
    return keys[0]


def verify(shard_dir, *args, key=None, sock='/nonexistent/sock'):
    argv = [CTL, '--dir', shard_dir, '--socket', sock, 'verify', '--json'] + list(args)
    if key:
        argv += ['--key', key]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    return r.returncode, {o['sid']: o for o in map(json.loads, r.stdout.splitlines())}, r.stderr


def raw_lines(path):
    with open(path, 'rb') as f:
        return f.read().split(b'\n')[:-1]


def sid_of_line(raw):
    return json.loads(raw)['sid']


def rechain(lines, sid, sealer):
    """The session's chain and checkpoints recomputed over lines as they are
    now (a forger's work); sealer(chk) seals each checkpoint dict (or
    leaves it)."""
    h_ = hashlib.sha256(b'sessrec-chain-v1' + sid.encode()).digest()
    n = 0
    out = []
    for raw in lines:
        if sid_of_line(raw) != sid:
            out.append(raw)
            continue
        m = vc.CHK_LINE.match(raw)
        if m:
            chk = json.loads(m.group(2))
            chk.update(n=n, h=h_.hex())
            sealer(chk)
            raw = b'{"sid":"%s","chk":%s}' % (sid.encode(), json.dumps(chk, separators=(',', ':')).encode())
        elif b'"end":' in raw:
            m = vc.CHK_END.search(raw)
            body = raw[:m.start()] + b'}'
            h2 = hashlib.sha256(h_ + body).digest()
            chk = json.loads(m.group(1))
            chk.update(n=n + 1, h=h2.hex())
            sealer(chk)
            raw = raw[:m.start()] + b',"chk":' + json.dumps(chk, separators=(',', ':')).encode() + b'}'
            out.append(raw)
            h_, n = h2, n + 1
            continue
        h_ = hashlib.sha256(h_ + raw).digest()
        n += 1
        out.append(raw)
    return out


class ChainTest(hs.Sessions, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        """One daemon, one key, three sessions in one shard: a big one
        (several 64 KiB checkpoints), a slow one (timed checkpoints) and a
        small one, interleaved."""
        cls.d = h.Daemon({'Recording': {'SealKeyFile': os.path.join(h.tmpdir('srchk-'), 'seal.key')}},
                         start=False)
        cls.d.conf['Recording']['SealKeyFile'] = os.path.join(cls.d.tmp, 'seal.key')
        h.write_config(cls.d.conf_path, cls.d.conf)
        cls.d.start()
        cls.vkey_text = keygen(cls.d)
        cls.vkey = os.path.join(cls.d.tmp, 'vkey')
        with open(cls.vkey, 'w') as f:
            f.write(cls.vkey_text + '\n')
        h.wait_for(lambda: 'seal key' in cls.d.output() and 'taken' in cls.d.output(), 5)
        cls.sock = cls.d.sock
        ps = [h.record(cls.sock, 'seq 1 40000; echo bigdone; exit 0'),
              h.record(cls.sock, 'for i in 1 2 3 4 5 6 7 8 9 10 11 12; do echo slow$i; sleep 1; done; exit 0'),
              h.record(cls.sock, 'echo small1; sleep 0.3; echo small2; exit 0')]
        for p in ps:
            assert p.wait(60) == 0
            p.finish()
        cls.sids = {}
        lines = h.shard_lines(cls.d.shards)
        for tag in ('bigdone', 'slow12', 'small2'):
            sids = h.sids_with_output(lines, tag.encode())
            assert len(sids) == 1, (tag, sids)
            cls.sids[tag] = sids[0]
        assert h.wait_for(lambda: len(cls.d.events('session_recorded')) == 3, 10)
        cls.shard = [os.path.join(cls.d.shards, f) for f in os.listdir(cls.d.shards)][0]

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()

    def lines(self):
        return self.d.lines()

    def copy_with(self, lines, name='sessions-2026-01-01.jsonl', gz=False):
        """A shard directory holding lines (bytes) as one day shard."""
        d = h.tmpdir('srchk-')
        self.addCleanup(shutil.rmtree, d, True)
        os.chmod(d, 0o700)
        data = b''.join(raw + b'\n' for raw in lines)
        path = os.path.join(d, name + ('.gz' if gz else ''))
        with (gzip.open if gz else open)(path, 'wb') as f:
            f.write(data)
        return d, path

    def session_idx(self, lines, sid, pred=lambda o: True):
        return [i for i, raw in enumerate(lines) if sid_of_line(raw) == sid and pred(json.loads(raw))]

    def check_damage(self, lines, victim, kind, line_no=None, key=True, also_python=True):
        """verify finds kind in victim (at line_no, 1-based, when given, or
        in the range it names), nothing in the others; the independent
        verifier agrees on which session is damaged."""
        d, path = self.copy_with(lines)
        rc, res, err = verify(d, '--all', key=self.vkey if key else None)
        self.assertEqual(rc, 1, 'verify passed damage: %r %s' % (res, err))
        self.assertEqual(res[victim]['result'], 'damaged', res[victim])
        self.assertEqual(res[victim]['damage'], kind, res[victim])
        if line_no is not None:
            lo, hi = res[victim]['line'], res[victim]['found_line']
            self.assertTrue(lo <= line_no <= hi, 'damage at line %d reported at %r' % (line_no, res[victim]))
        for sid in self.sids.values():
            if sid != victim:
                self.assertEqual(res[sid]['result'], 'ok', res[sid])
        if also_python:
            py = vc.verify([path], self.vkey_text if key else None)
            self.assertNotEqual(py[victim], 'ok', py)
            for sid in self.sids.values():
                if sid != victim:
                    self.assertEqual(py[sid], 'ok', py)
        return res[victim]

    # ---- untouched recordings ----

    def test_all_ok_and_independent_verifier_agrees(self):
        rc, res, err = verify(self.d.shards, '--all', key=self.vkey, sock=self.sock)
        self.assertEqual(rc, 0, err)
        for sid in self.sids.values():
            self.assertEqual(res[sid]['result'], 'ok', res[sid])
            self.assertTrue(res[sid]['seals_checked'], res[sid])
        big = res[self.sids['bigdone']]
        self.assertGreaterEqual(big['checkpoints'], 4, 'a 64 KiB checkpoint rhythm: %r' % big)
        self.assertGreaterEqual(res[self.sids['slow12']]['checkpoints'], 2, 'no timed checkpoint')
        py = vc.verify([self.shard], self.vkey_text)
        self.assertEqual(py, {sid: 'ok' for sid in self.sids.values()})
        # without the key: chains only, and it says so
        r = subprocess.run([CTL, '--dir', self.d.shards, '--socket', self.sock, 'verify', '--all'],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn('chains only', r.stdout)
        # status says the checkpoints are sealed
        st = subprocess.run([CTL, 'status', '--socket', self.sock], capture_output=True, text=True, timeout=10)
        self.assertIn('checkpoints sealed, key epoch 0', st.stdout, st.stdout + st.stderr)

    def test_selection(self):
        small = self.sids['small2']
        rc, res, err = verify(self.d.shards, small[:8], sock=self.sock)
        self.assertEqual((rc, list(res)), (0, [small]), err)
        rc, res, err = verify(self.d.shards, 'ffffffff-nosuch', sock=self.sock)
        self.assertEqual((rc, res), (1, {}))
        self.assertIn("no session matches 'ffffffff-nosuch'", err)
        rc, res, err = verify(self.d.shards, '--all', '--since', '@%d' % (time.time() + 3600), sock=self.sock)
        self.assertEqual((rc, res), (0, {}), err)
        rc, res, err = verify(self.d.shards, '--all', '--since', '1h ago', sock=self.sock)
        self.assertEqual(sorted(res), sorted(self.sids.values()), err)
        r = subprocess.run([CTL, 'verify'], capture_output=True, text=True)
        self.assertEqual(r.returncode, 2)

    def test_session_recorded_pins_the_final_hash(self):
        lines = raw_lines(self.shard)
        for sid in self.sids.values():
            ev = self.d.events('session_recorded', sid)
            self.assertEqual(len(ev), 1)
            sd = ev[0]['sd']['relay@55555']
            end = [raw for raw in lines if sid_of_line(raw) == sid and b'"end":' in raw][0]
            chk = json.loads(vc.CHK_END.search(end).group(1))
            self.assertEqual(sd['chain_hash'], chk['h'])
            self.assertEqual(sd['seal'], chk['seal'])
            self.assertEqual(sd['seal_epoch'], str(chk['epoch']))
            rc, res, _ = verify(self.d.shards, sid, sock=self.sock)
            self.assertEqual(res[sid]['final_hash'], sd['chain_hash'])

    def test_overhead_is_small(self):
        lines = raw_lines(self.shard)
        big = self.sids['bigdone']
        mine = [raw for raw in lines if sid_of_line(raw) == big]
        chk = sum(len(raw) + 1 for raw in mine if vc.CHK_LINE.match(raw))
        chk += sum(len(vc.CHK_END.search(raw).group(0)) for raw in mine if b'"end":' in raw)
        total = sum(len(raw) + 1 for raw in mine)
        self.assertLess(chk / total, 0.005, 'checkpoints are %.3f%% of the session' % (100.0 * chk / total))

    def test_gzip_shard(self):
        d, _ = self.copy_with(raw_lines(self.shard), gz=True)
        rc, res, err = verify(d, '--all', key=self.vkey)
        self.assertEqual(rc, 0, err)
        self.assertEqual({s: o['result'] for s, o in res.items()}, {s: 'ok' for s in self.sids.values()})
        # and damage inside a gzip file is found too
        lines = raw_lines(self.shard)
        i = self.session_idx(lines, self.sids['small2'], lambda o: o.get('ch') == 'o')[0]
        lines[i] = lines[i].replace(b'small', b'smell')
        d, _ = self.copy_with(lines, gz=True)
        rc, res, err = verify(d, '--all', key=self.vkey)
        self.assertEqual((rc, res[self.sids['small2']]['damage']), (1, 'line edited'))

    # ---- tampering, each on a copy ----

    def test_flip_one_byte_in_an_o_line(self):
        lines = raw_lines(self.shard)
        big = self.sids['bigdone']
        i = self.session_idx(lines, big, lambda o: o.get('ch') == 'o')[20]
        j = lines[i].index(b'"d":"') + 8
        lines[i] = lines[i][:j] + (b'7' if lines[i][j:j + 1] != b'7' else b'8') + lines[i][j + 1:]
        self.check_damage(lines, big, 'line edited', i + 1)

    def test_delete_one_line(self):
        lines = raw_lines(self.shard)
        slow = self.sids['slow12']
        i = self.session_idx(lines, slow, lambda o: o.get('ch') == 'o')[3]
        del lines[i]
        self.check_damage(lines, slow, 'line missing', i + 1)

    def test_insert_a_forged_line(self):
        lines = raw_lines(self.shard)
        slow = self.sids['slow12']
        i = self.session_idx(lines, slow, lambda o: o.get('ch') == 'o')[4]
        o = json.loads(lines[i])
        o['d'] = 'rm -rf / done\r\n'
        lines.insert(i + 1, json.dumps(o, separators=(',', ':')).encode())
        self.check_damage(lines, slow, 'line inserted', i + 2)

    def test_swap_two_lines(self):
        lines = raw_lines(self.shard)
        slow = self.sids['slow12']
        idx = self.session_idx(lines, slow, lambda o: 't' in o)
        # two timed lines of the session next to each other in the file (an
        # output and a command record, say), of different times
        a, b = next((x, y) for x, y in zip(idx[2:], idx[3:])
                    if y == x + 1 and json.loads(lines[x])['t'] != json.loads(lines[y])['t'])
        lines[a], lines[b] = lines[b], lines[a]
        res = self.check_damage(lines, slow, 'lines reordered')
        self.assertEqual(res['line'], b + 1, 'the line whose time goes back: %r' % res)

    def test_cut_the_tail(self):
        lines = raw_lines(self.shard)
        slow = self.sids['slow12']
        idx = self.session_idx(lines, slow)
        cut = set(idx[len(idx) // 2:])
        kept = [raw for k, raw in enumerate(lines) if k not in cut]
        self.check_damage(kept, slow, 'chain cut before the end')

    def test_rechained_forgery_without_the_key(self):
        lines = raw_lines(self.shard)
        small = self.sids['small2']
        i = self.session_idx(lines, small, lambda o: o.get('ch') == 'o')[0]
        lines[i] = lines[i].replace(b'small1', b'SMALL1')
        fake = os.urandom(32)
        forged = rechain(lines, small, lambda c: c.update(seal=vc.seal(fake, small, c)))
        res = self.check_damage(forged, small, 'seal invalid')
        self.assertIn('not the key', res['detail'])
        # without the key the chain alone cannot tell, and says it checked chains only
        d, _ = self.copy_with(forged)
        rc, res, _ = verify(d, small)
        self.assertEqual((rc, res[small]['result'], res[small]['seals_checked']), (0, 'ok', False))

    def test_resealed_with_a_later_epochs_key(self):
        lines = raw_lines(self.shard)
        small = self.sids['small2']
        k0, start, length = vc.parse_vkey(self.vkey_text)
        later = (int(time.time()) - start) // length + 3  # an intruder's key, epochs after the session
        k_t = vc.key_at(k0, later)
        i = self.session_idx(lines, small, lambda o: o.get('ch') == 'o')[0]
        lines[i] = lines[i].replace(b'small1', b'SMALL1')

        def reseal(c):
            c.update(epoch=later, time=start + later * length + 1)
            c['seal'] = vc.seal(k_t, small, c)
        forged = rechain(lines, small, reseal)
        self.check_damage(forged, small, 'seal from a skipped epoch', also_python=False)

    # ---- evidence ----

    def test_evidence_export(self):
        ev = os.path.join(h.tmpdir('srchk-'), 'ev')
        self.addCleanup(shutil.rmtree, os.path.dirname(ev), True)
        small, slow = self.sids['small2'], self.sids['slow12']
        r = subprocess.run([CTL, '--dir', self.d.shards, 'export', '--evidence', ev, '--key', self.vkey,
                            small[:8], slow], capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        one = os.path.join(ev, small)
        self.assertEqual(sorted(os.listdir(one)), ['lines.jsonl', 'manifest.json', 'session.cast', 'transcript.txt'])
        with open(os.path.join(one, 'manifest.json')) as f:
            m = json.load(f)
        mine = [raw for raw in raw_lines(self.shard) if sid_of_line(raw) == small]
        self.assertEqual(raw_lines(os.path.join(one, 'lines.jsonl')), mine, 'lines not exactly as stored')
        with open(self.shard, 'rb') as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        self.assertEqual([(s['file'], s['sha256'], s['lines']) for s in m['sources']],
                         [(self.shard, digest, len(mine))])
        sd = self.d.events('session_recorded', small)[0]['sd']['relay@55555']
        self.assertEqual(m['final_hash'], sd['chain_hash'])
        self.assertEqual(m['checkpoints'][-1]['seal'], sd['seal'])
        self.assertEqual(m['chain_head'], hashlib.sha256(b'sessrec-chain-v1' + small.encode()).hexdigest())
        self.assertEqual((m['verification']['result'], m['verification']['seals_checked']), ('ok', True))
        self.assertEqual((m['sid'], m['host'], m['lines']), (small, os.uname().nodename, len(mine)))
        self.assertIn('exported_at', m)
        self.assertIn('recorder_version', m)
        with open(os.path.join(one, 'transcript.txt')) as f:
            self.assertIn('small1\nsmall2', f.read())
        with open(os.path.join(one, 'session.cast')) as f:
            self.assertEqual(json.loads(f.readline())['version'], 2)
        # verify takes the directory of one session, and the directory of several
        for arg in (one, ev):
            r = subprocess.run([CTL, 'verify', '--json', '--key', self.vkey, arg],
                               capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            res = {o['sid']: o['result'] for o in map(json.loads, r.stdout.splitlines())}
            self.assertEqual(res, {small: 'ok'} if arg == one else {small: 'ok', slow: 'ok'})
        # an edited copy is damaged, at its line in lines.jsonl
        lines = raw_lines(os.path.join(one, 'lines.jsonl'))
        i = [k for k, raw in enumerate(lines) if b'small2' in raw][0]
        lines[i] = lines[i].replace(b'small2', b'smALL2')
        with open(os.path.join(one, 'lines.jsonl'), 'wb') as f:
            f.write(b''.join(raw + b'\n' for raw in lines))
        r = subprocess.run([CTL, 'verify', '--json', one], capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 1)
        o = json.loads(r.stdout)
        self.assertEqual(o['damage'], 'line edited')
        self.assertTrue(o['line'] <= i + 1 <= o['found_line'], o)

    # ---- the key ----

    def test_key_file_is_root_only(self):
        path = self.d.conf['Recording']['SealKeyFile']
        st = os.stat(path)
        self.assertEqual((st.st_uid, st.st_mode & 0o777), (0, 0o600))
        # keygen refuses to replace it silently
        g = subprocess.run([CTL, '--config', self.d.conf_path, 'keygen'], capture_output=True, text=True)
        self.assertEqual(g.returncode, 1)
        self.assertIn('--force', g.stderr)


class ForwardSecrecyTest(unittest.TestCase):
    def test_key_taken_later_cannot_reproduce_earlier_seals(self):
        d = h.Daemon(start=False)
        self.addCleanup(d.cleanup)
        key_path = os.path.join(d.tmp, 'seal.key')
        d.conf['Recording'] = {'SealKeyFile': key_path}
        h.write_config(d.conf_path, d.conf)
        d.start()
        st = subprocess.run([CTL, 'status', '--socket', d.sock], capture_output=True, text=True, timeout=10)
        self.assertIn('checkpoints not sealed: no seal key', st.stdout, st.stdout + st.stderr)
        vkey = keygen(d, epoch=10)
        self.assertTrue(h.wait_for(lambda: 'taken' in d.output(), 5))
        p = h.record(d.sock, 'echo early; exit 0')
        self.addCleanup(p.finish)
        self.assertEqual(p.wait(10), 0)
        sid = h.wait_for(lambda: h.sids_with_output(d.lines(), b'early'), 5)[0]
        self.assertIsNotNone(d.wait_end(sid))
        k0, start, length = vc.parse_vkey(vkey)
        # time T: the daemon has evolved the key past the session's epoch
        self.assertTrue(h.wait_for(lambda: int(h.read_text(key_path).split()[4]) >= 2, 30),
                        'the key file did not evolve: %r' % h.read_text(key_path))
        with open(key_path) as f:
            _, _, fstart, flen, fepoch, fhex = f.read().split()
        k_t, e_t = bytes.fromhex(fhex), int(fepoch)
        self.assertEqual(k_t, vc.key_at(k0, e_t), 'the file holds k_T')
        chks = [json.loads(vc.CHK_END.search(raw).group(1)) for raw in raw_lines(
            os.path.join(d.shards, os.listdir(d.shards)[0])) if sid_of_line(raw) == sid and b'"end":' in raw]
        self.assertEqual(len(chks), 1)
        early = chks[0]
        self.assertLess(early['epoch'], e_t)
        self.assertEqual(vc.seal(vc.key_at(k0, early['epoch']), sid, early), early['seal'])
        # from k_T, no number of evolutions (the only way on) gives the earlier seal
        k = k_t
        for _ in range(64):
            self.assertNotEqual(vc.seal(k, sid, early), early['seal'])
            k = hmac.new(k, b'sessrec-evolve', hashlib.sha256).digest()
        self.assertNotIn(k0.hex(), h.read_text(key_path))


class ResumeTest(hs.Sessions, unittest.TestCase):
    def setUp(self):
        self.d = h.Daemon()
        self.addCleanup(self.d.cleanup)
        self.sock, self.lines = self.d.sock, self.d.lines
        self.keeper = hs.keeper_of(self.d.pid)
        self.addCleanup(self.reap_keeper)
        self.hup = os.path.join(self.d.tmp, 'hup')

    def reap_keeper(self):
        if self.keeper and h.alive(self.keeper):
            os.kill(self.keeper, signal.SIGKILL)
        hs.wait_gone(self.keeper, 5)

    def test_kill9_and_sigusr2_continue_the_chain(self):
        p = self.session(hs.ticker(self.hup, 220, interval=0.1, then='exit 0'))
        p.expect(rb'tick5\r\n')
        sid = self.sid_of('tick1')
        # a live session verifies up to its last checkpoint
        h.wait_for(lambda: any(b'"chk"' in raw for raw in raw_lines(
            os.path.join(self.d.shards, os.listdir(self.d.shards)[0]))), 12)
        rc, res, err = verify(self.d.shards, sid, sock=self.sock)
        self.assertEqual((rc, res[sid]['result']), (0, 'live'), (res, err))
        hs.kill9(self.d)
        time.sleep(0.3)
        self.d.start()
        p.expect(rb'tick160\r\n', timeout=30)
        self.d.p.send_signal(signal.SIGUSR2)  # re-exec in place
        self.assertEqual(p.wait(30), 0)
        self.assertIsNotNone(self.d.wait_end(sid, 15), 'no end line')
        rc, res, err = verify(self.d.shards, sid, sock=self.sock)
        self.assertEqual((rc, res[sid]['result']), (0, 'ok'), (res, err))
        shard = os.path.join(self.d.shards, os.listdir(self.d.shards)[0])
        self.assertEqual(vc.verify([shard])[sid], 'ok')
        self.assertGreaterEqual(len(hs.gap_markers(self.lines(), sid)), 1, 'no gap marker')


if __name__ == '__main__':
    unittest.main()
