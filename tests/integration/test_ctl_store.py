"""sessrecctl list / show and what every subcommand shares, on synthetic
day shards written byte for byte in the writer's format: newest first,
filters, --json, several --dir (before and after the subcommand), gzip
shards, sid prefixes (unique, ambiguous, unknown), corrupt and truncated
lines (reported once with file and line, the rest still read), a missing
or unreadable directory, usage errors and exit codes."""
import json
import os
import re
import shutil
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ctlshard as cs  # noqa: E402
import harness as h  # noqa: E402

T = None  # the store's directory
NOW = int(time.time())
DAY1 = NOW - 3 * 86400
S = {}    # name -> sid


def setUpModule():
    global T
    T = h.tmpdir('ctl-store-')
    a, b = os.path.join(T, 'a'), os.path.join(T, 'b')
    # dir a, three days ago: ended, truncated, live, plus damage
    w = cs.ShardWriter(a, ts=DAY1)
    S['alice1'] = w.session(ts=DAY1 + 10, out=[(0.1, b'hello\r\n')], inp=[(0.2, b'ls\r')],
                            user='alice', src_ip='192.0.2.10', host='web1')
    S['bob'] = 'abcd1234-' + cs.new_sid()[9:]
    w.hdr(S['bob'], ts=DAY1 + 20, user='bob', src_ip='198.51.100.7', host='db1', service='login',
          proto='telnet')
    w.event(S['bob'], 0.5, 'o', b'x' * 100)
    w.resize(S['bob'], 1.0, 120, 40)
    w.marker(S['bob'], 1.5, 'daemon restarted')
    w.exec_(S['bob'], 2.0, 4321, ['ls', '-la', 'my file'], ppid=4300)
    w.exit_(S['bob'], 2.1, 4321, code=3)
    w.trunc(S['bob'])
    w.write(b'{"sid": this is not json\n')
    w.end(S['bob'], 5.0, bytes_out=100, bytes_in=0, truncated=True)
    S['carol'] = 'abcd5678-' + cs.new_sid()[9:]
    w.hdr(S['carol'], ts=DAY1 + 30, user='carol', src_ip='2001:db8::7', host='web1')
    w.event(S['carol'], 7.25, 'o', b'still running\r\n')
    w.close()
    with open(w.path, 'ab') as f:  # a torn last line
        f.write(b'{"sid":"%s","t":8.0,"ch":"o","d":"cut sh' % S['carol'].encode())
    S['day1_path'] = w.path
    with open(w.path, 'rb') as f:
        lines = f.read().split(b'\n')
    S['bad1'] = [i for i, l in enumerate(lines, 1) if b'this is not json' in l][0]
    S['bad2'] = len(lines)  # the torn last line
    # dir a, today, gzip: alice again, an unattached session
    w = cs.ShardWriter(a, ts=NOW, gz=True)
    S['alice2'] = w.session(ts=NOW - 60, out=[(0.1, b'again\r\n')], user='alice', src_ip='10.1.2.3',
                            host='web2')
    S['dave'] = cs.new_sid()
    w.hdr(S['dave'], ts=NOW - 30, user='dave', src_ip='10.1.2.4', host='web2')
    w.end(S['dave'], 0.0, reason='unattached')
    w.close()
    # dir b, today: another host's store
    w = cs.ShardWriter(b, ts=NOW)
    S['erin'] = w.session(ts=NOW - 10, out=[(0.3, b'from b\r\n')], user='erin', src_ip='192.0.2.99',
                          host='other')
    w.close()
    S['a'], S['b'] = a, b


def tearDownModule():
    if T:
        shutil.rmtree(T, ignore_errors=True)


def jlist(*args):
    r = h.ctl('list', '--json', *args)
    return r, [json.loads(l) for l in r.stdout.splitlines()]


class ListTest(unittest.TestCase):
    def test_newest_first_aligned(self):
        r = h.ctl('list', '--dir', S['a'], '--dir', S['b'])
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.decode().splitlines()
        self.assertTrue(lines[0].startswith('SID '))
        order = [S[k][:8] for k in ('erin', 'dave', 'alice2', 'carol', 'bob', 'alice1')]
        self.assertEqual([l[:8] for l in lines[1:]], order)
        # columns line up under the header
        col = lines[0].index('START')
        for l in lines[1:]:
            self.assertRegex(l[col:col + 19], r'^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$')
        self.assertEqual(lines[0].index('STATE'), lines[1].rindex(' ') + 1)
        states = {l[:8]: l.split()[-1] for l in lines[1:]}
        self.assertEqual(states[S['bob'][:8]], 'truncated')
        self.assertEqual(states[S['carol'][:8]], 'live')
        self.assertEqual(states[S['alice1'][:8]], 'ended')
        self.assertEqual(states[S['dave'][:8]], 'unattached')
        self.assertIn(time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(DAY1 + 10)),
                      [l for l in lines if l.startswith(S['alice1'][:8])][0])

    def test_json(self):
        r, objs = jlist('--dir', S['a'], '--dir', S['b'])
        self.assertEqual(r.returncode, 0)
        by = {o['sid']: o for o in objs}
        self.assertEqual(set(by), {S[k] for k in ('erin', 'dave', 'alice2', 'carol', 'bob', 'alice1')})
        bob = by[S['bob']]
        self.assertEqual((bob['user'], bob['src_ip'], bob['service'], bob['proto'], bob['host']),
                         ('bob', '198.51.100.7', 'login', 'telnet', 'db1'))
        self.assertEqual((bob['state'], bob['truncated'], bob['bytes_out'], bob['commands']), ('truncated', True, 100, 1))
        self.assertEqual(bob['duration'], 5.0)
        self.assertEqual(bob['width'], 80)
        carol = by[S['carol']]
        self.assertEqual(carol['state'], 'live')
        self.assertAlmostEqual(carol['duration'], 7.25)
        self.assertTrue(by[S['alice1']]['shard'].endswith('.jsonl'))
        self.assertTrue(by[S['alice2']]['shard'].endswith('.jsonl.gz'))

    def test_filters(self):
        def sids(*args):
            r, objs = jlist('--dir', S['a'], '--dir', S['b'], *args)
            self.assertEqual(r.returncode, 0, r.stderr)
            return {o['sid'] for o in objs}
        self.assertEqual(sids('--user', 'alice'), {S['alice1'], S['alice2']})
        self.assertEqual(sids('--host', 'web1'), {S['alice1'], S['carol']})
        self.assertEqual(sids('--src', '192.0.2.10'), {S['alice1']})
        self.assertEqual(sids('--src', '192.0.2.0/24'), {S['alice1'], S['erin']})
        self.assertEqual(sids('--src', '2001:db8::/32'), {S['carol']})
        for bad in ('192.0.2.0/', '192.0.2.0/x', '0.0.0.0/0x', '::/ 1'):
            self.assertEqual(sids('--src', bad), set(), bad)
        recent = {S['alice2'], S['dave'], S['erin']}
        self.assertEqual(sids('--since', '1d'), recent)
        self.assertEqual(sids('--since', '36h'), recent)
        self.assertEqual(sids('--since', time.strftime('%Y-%m-%d', time.localtime(DAY1 + 2 * 86400))), recent)
        self.assertEqual(sids('--until', '2d'), {S['alice1'], S['bob'], S['carol']})
        stamp = time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(DAY1 + 25))
        self.assertEqual(sids('--since', stamp, '--until', '1d'), {S['carol']})
        local = time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(DAY1 + 15))
        self.assertEqual(sids('--until', local), {S['alice1']})
        self.assertEqual(sids('--since', '@%d' % (NOW - 20)), {S['erin']})
        self.assertEqual(sids('--user', 'alice', '--since', '1w', '--host', 'web2'), {S['alice2']})
        self.assertEqual(sids('--user', 'nobody'), set())
        r = h.ctl('list', '--dir', S['a'], '--since', 'last tuesday')
        self.assertEqual(r.returncode, 2)
        self.assertIn(b'last tuesday', r.stderr)

    def test_dir_before_and_after(self):
        a = h.ctl('--dir', S['a'], 'list', '--dir', S['b'], '--json')
        b = h.ctl('list', '--dir', S['a'], '--json', '--dir', S['b'])
        self.assertEqual(a.returncode, 0)
        self.assertEqual(a.stdout, b.stdout)
        self.assertEqual(len(a.stdout.splitlines()), 6)
        # the same directory twice counts once
        c = h.ctl('list', '--dir', S['b'], '--dir', S['b'] + '/', '--json')
        self.assertEqual(len(c.stdout.splitlines()), 1)

    def test_corrupt_and_truncated_lines(self):
        r = h.ctl('list', '--dir', S['a'])
        self.assertEqual(r.returncode, 0)
        err = r.stderr.decode().splitlines()
        self.assertEqual(err, ['sessrecctl: %s:%d: corrupt line skipped' % (S['day1_path'], S['bad1']),
                               'sessrecctl: %s:%d: corrupt line skipped' % (S['day1_path'], S['bad2'])])
        self.assertEqual(len(r.stdout.splitlines()), 6)

    def test_missing_and_unreadable(self):
        missing = os.path.join(T, 'nope')
        r = h.ctl('list', '--dir', missing)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr.decode(), 'sessrecctl: %s: No such file or directory\n' % missing)
        self.assertEqual(r.stdout, b'')
        closed = os.path.join(T, 'closed')
        shutil.copytree(S['b'], closed)
        os.chmod(closed, 0o700)
        pw = h.test_user()
        r = h.ctl('list', '--dir', closed, user=pw.pw_uid, group=pw.pw_gid, extra_groups=[])
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr.decode(), 'sessrecctl: %s: Permission denied\n' % closed)
        os.chmod(closed, 0o755)
        for f in os.listdir(closed):
            os.chmod(os.path.join(closed, f), 0o600)
        r = h.ctl('list', '--dir', closed, user=pw.pw_uid, group=pw.pw_gid, extra_groups=[])
        self.assertEqual(r.returncode, 1)
        self.assertIn(b'Permission denied', r.stderr)
        self.assertEqual(len(r.stderr.splitlines()), 1)
        empty = os.path.join(T, 'empty')
        os.mkdir(empty)
        r = h.ctl('list', '--dir', empty)
        self.assertEqual((r.returncode, len(r.stdout.splitlines()), r.stderr), (0, 1, b''))

    def test_config_default_dir(self):
        conf = os.path.join(T, 'd.conf')
        with open(conf, 'w') as f:
            f.write('[Recording]\nShardDirectory=%s\n' % S['b'])
        r = h.ctl('--config', conf, 'list', '--json')
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)['sid'], S['erin'])


class ShowTest(unittest.TestCase):
    def test_everything_known(self):
        r = h.ctl('show', S['bob'], '--dir', S['a'])
        self.assertEqual(r.returncode, 0, r.stderr)
        out = r.stdout.decode()
        for want in ('Session   ' + S['bob'], 'User      bob (uid 1000)', 'Service   login (telnet)',
                     'Source    198.51.100.7 port 50022', 'Host      db1', 'TTY       /dev/pts/3',
                     'Terminal  80x24, TERM=xterm-256color', '+1.000s  resize 120x40',
                     '+1.500s  marker daemon restarted',
                     "+2.000s  exec  pid 4321 ppid 4300 uid 1000 in /home/alice: ls -la 'my file'",
                     '+2.100s  exit  pid 4321 status 3', 'truncated: the per-session output cap was reached; later output is not recorded (input, resizes and markers are)',
                     'State     truncated (exit)', 'Duration  5.0s', '100 bytes recorded in 1 event',
                     'Truncated yes'):
            self.assertIn(want, out)
        # the corrupt line sits among bob's lines: reported, skipped
        self.assertEqual(r.stderr.decode(), 'sessrecctl: %s:%d: corrupt line skipped\n' % (S['day1_path'], S['bad1']))

    def test_live_session(self):
        r = h.ctl('show', S['carol'][:9] + S['carol'][9:13], '--dir', S['a'])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn('State     live', r.stdout.decode())
        self.assertIn('so far', r.stdout.decode())
        self.assertEqual(r.stderr.decode(), 'sessrecctl: %s:%d: corrupt line skipped\n' % (S['day1_path'], S['bad2']))

    def test_prefixes(self):
        r = h.ctl('show', S['alice1'][:5], '--dir', S['a'], '--dir', S['b'])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(S['alice1'], r.stdout.decode())
        r = h.ctl('show', 'abcd', '--dir', S['a'])
        self.assertEqual(r.returncode, 1)
        err = r.stderr.decode()
        self.assertIn("sessrecctl: 'abcd' is ambiguous; it matches 2 sessions:", err)
        self.assertIn(S['bob'], err)
        self.assertIn(S['carol'], err)
        self.assertEqual(r.stdout, b'')
        r = h.ctl('show', 'abcd1', '--dir', S['a'])
        self.assertEqual(r.returncode, 0)
        self.assertIn(S['bob'], r.stdout.decode())
        for bad in ('ffffffff-no-such', 'zz', 'a b', '"x'):
            r = h.ctl('show', bad, '--dir', S['a'])
            self.assertEqual(r.returncode, 1)
            self.assertEqual(r.stderr.decode().splitlines()[-1], "sessrecctl: no session matches '%s'" % bad)
        # a full sid in a gzip shard
        r = h.ctl('export', S['alice2'], '--dir', S['a'], '--format', 'raw')
        self.assertEqual((r.returncode, r.stdout), (0, b'again\r\n'))


class UsageTest(unittest.TestCase):
    def test_usage_and_help(self):
        for cmd in ('list', 'show', 'play', 'export', 'grep', 'status'):
            r = h.ctl(cmd, '--help')
            self.assertEqual(r.returncode, 0)
            self.assertTrue(r.stdout.startswith(b'Usage: sessrecctl ' + cmd.encode()), cmd)
            r = h.ctl(cmd, '--no-such-option')
            self.assertEqual(r.returncode, 2, cmd)
            self.assertIn(b"unknown option '--no-such-option'", r.stderr)
        r = h.ctl('--help')
        self.assertEqual(r.returncode, 0)
        self.assertIn(b'Exit status', r.stdout)
        r = h.ctl('--version')
        self.assertEqual(r.returncode, 0)
        self.assertRegex(r.stdout.decode(), r'^sessrecctl \d+\.\d+')
        for argv, code in ((['frobnicate'], 2), ([], 2), (['show'], 2), (['show', 'a', 'b'], 2),
                           (['export', 'x', '--format', 'pdf'], 2), (['play', 'x', '--speed', '0'], 2),
                           (['list', '--dir'], 2), (['grep'], 2), (['grep', '(', '--dir', '/tmp'], 2)):
            r = h.ctl(*argv)
            self.assertEqual(r.returncode, code, argv)
            self.assertTrue(r.stderr.startswith(b'sessrecctl'), argv)


if __name__ == '__main__':
    unittest.main(verbosity=2)
