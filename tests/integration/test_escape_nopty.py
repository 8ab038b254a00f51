"""Issue "Nothing escapes", item 6: sessions without a pty. With the real
sshd and ssh client (pamharness), a recorded user's `ssh -T host cmd`, scp
and sftp go through sessrecd: stdin, stdout and stderr are relayed and
recorded ("i", "o", "e"), byte for byte, binary included; the client sees
each stream where it belongs and the command's exit status. A terminal
made inside the session (`script -qc bash /dev/null`) is recorded too.
TransferContent=metadata records scp and sftp as sizes and SHA-256s;
NoTtyCommands= refuses other commands with one line. Everything runs in a
private mount namespace."""
import hashlib
import json
import os
import re
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
import pamharness as ph  # noqa: E402

USER = 'srn-bash'
BIG = 50 * 1024 * 1024
D = M = P = T = KEYS = SINK = SSHD = CONF = None
MARKER_RX = re.compile(r'^transfer (stdin|stdout): (\d+) bytes, sha256 ([0-9a-f]{64})$')


def line(daemon):
    return ph.module_line(users=USER, socket=daemon.sock, config=CONF, timeout_ms=2000)


def setUpModule():
    global D, M, P, T, KEYS, SINK, SSHD, CONF
    h.in_private_mount_ns()
    # content (the default), with room for the 50 MB transfers
    D = h.Daemon(conf={'Recording': {'SessionMaxBytes': '1G'}})
    M = h.Daemon(conf={'Recording': {'TransferContent': 'metadata'}})
    P = h.Daemon(conf={'Daemon': {'NoTtyCommands': 'scp sftp wc git-*'}})
    T = h.tmpdir('srnopty-')
    KEYS = ph.Keys(T)
    ph.ensure_user(USER, '/bin/bash', KEYS)
    SINK = ph.SyslogSink(T)
    CONF = ph.module_config(T, SINK)
    SSHD = ph.Sshd(T, KEYS, line(D), [USER])


def tearDownModule():
    for d in (M, P):
        if d:
            d.cleanup()
    ph.tear_down(SSHD, D, T)


def raw_lines(daemon, needle=None):
    """The shard lines (bytes) holding needle: the 50 MB transfers make
    shards of hundreds of MB, parsed only where a test looks."""
    out = []
    if not os.path.isdir(daemon.shards):
        return out
    for f in sorted(os.listdir(daemon.shards)):
        if f.endswith('.jsonl'):
            with open(os.path.join(daemon.shards, f), 'rb') as fh:
                out += [raw for raw in fh if needle is None or needle in raw]
    return out


def user_sids(daemon):
    hdrs = (json.loads(raw) for raw in raw_lines(daemon, b'"hdr":'))
    return [o['sid'] for o in hdrs if o.get('meta', {}).get('user') == USER]


def new_sids(daemon, before):
    return [s for s in user_sids(daemon) if s not in before]


def markers(lines, sid):
    return [o['d'] for o in h.session_lines(lines, sid) if o.get('ch') == 'm']


class Base(unittest.TestCase):
    daemon = None

    def setUp(self):
        self.d = self.daemon or D
        SSHD.pam.set(line(self.d))
        self.home = ph.pwd.getpwnam(USER).pw_dir
        self.run_id = os.path.basename(T)
        self.addCleanup(lambda: [os.unlink(os.path.join(self.home, f))
                                 for f in os.listdir(self.home) if self.run_id in f])

    def ssh(self, cmd, stdin=b'', timeout=120):
        """ssh -T host cmd; the one new session it made and its end line."""
        before = user_sids(self.d)
        r = SSHD.run(USER, cmd, stdin=stdin, timeout=timeout)
        sids = new_sids(self.d, before)
        self.assertEqual(len(sids), 1, 'sessions: %s' % sids)
        return r, sids[0]

    def ended(self, sid):
        """The session's lines once its end line is there (the client
        returns after it: the shim waits for "drained"), checked sane."""
        lines = []
        for _ in range(100):
            lines = [(raw, json.loads(raw)) for raw in raw_lines(self.d, sid.encode())]
            if any('end' in o for _, o in lines):
                break
            time.sleep(0.2)
        h.check_shard_sane(self, lines)
        ends = [o['end'] for _, o in lines if 'end' in o]
        self.assertEqual(len(ends), 1, 'no end line for %s: %s' % (sid, self.d.output()[-1500:]))
        return lines, ends[0]

    def transfer(self, prog, args, timeout=180):
        before = user_sids(self.d)
        r = subprocess.run(SSHD.client_argv(USER, prog=prog) + args, capture_output=True, env=ph.CLIENT_ENV,
                           timeout=timeout)
        self.assertEqual(r.returncode, 0, r.stderr)
        sids = new_sids(self.d, before)
        self.assertEqual(len(sids), 1, 'sessions: %s' % sids)
        return sids[0]

    def payload(self, n, name):
        data = os.urandom(n)
        path = os.path.join(T, name)
        with open(path, 'wb') as f:
            f.write(data)
        os.chmod(path, 0o644)
        return data, path

    def remote(self, name):
        return os.path.join(self.home, name)


class Streams(Base):
    def test_stdout_stderr_and_status(self):
        r, sid = self.ssh('echo out; echo err >&2; exit 5')
        self.assertEqual((r.returncode, r.stdout, r.stderr), (5, b'out\n', b'err\n'))
        lines, end = self.ended(sid)
        self.assertEqual(h.channel_bytes(lines, sid, 'o'), b'out\n')
        self.assertEqual(h.channel_bytes(lines, sid, 'e'), b'err\n')
        self.assertEqual(end['reason'], 'exit')
        self.assertEqual(end['bytes_out'], 8)

    def test_readers_take_stderr(self):
        """show counts the e channel, export (asciicast v2 has no stderr)
        and play give it as output, grep finds it."""
        r, sid = self.ssh('echo to-out; echo to-err-$((6*7)) >&2')
        self.assertEqual(r.stderr, b'to-err-42\n')
        self.ended(sid)
        r = h.ctl('show', sid, '--dir', self.d.shards)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, rb'\n  Stderr    10 bytes recorded in 1 event\n')
        r = h.ctl('export', sid, '--dir', self.d.shards, '--format', 'asciicast')
        self.assertEqual(r.returncode, 0, r.stderr)
        events = [json.loads(x) for x in r.stdout.splitlines()[1:]]
        self.assertEqual([(e[1], e[2]) for e in events], [('o', 'to-out\n'), ('o', 'to-err-42\n')])
        r = h.ctl('export', sid, '--dir', self.d.shards, '--format', 'raw')
        self.assertEqual(r.stdout, b'to-out\nto-err-42\n')
        r = h.ctl('grep', 'to-err-42', '--dir', self.d.shards)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, rb'^%s  \+[0-9.]+s  e  to-err-42\n$' % sid[:8].encode())

    def test_stdin_counted(self):
        data = b'0123456789' * 10000
        r, sid = self.ssh('wc -c', stdin=data)
        self.assertEqual((r.returncode, r.stdout, r.stderr), (0, b'100000\n', b''))
        lines, end = self.ended(sid)
        self.assertEqual(h.channel_bytes(lines, sid, 'i'), data)
        self.assertEqual(h.channel_bytes(lines, sid, 'o'), b'100000\n')
        self.assertEqual(end['bytes_in'], len(data))

    def test_binary_round_trip_is_lossless(self):
        data = bytes(range(256)) * 64 + os.urandom(300000)
        r, sid = self.ssh('cat', stdin=data)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, data)
        lines, _ = self.ended(sid)
        self.assertEqual(h.channel_bytes(lines, sid, 'i'), data)
        self.assertEqual(h.channel_bytes(lines, sid, 'o'), data)

    def test_exit_status_and_signal(self):
        r, sid = self.ssh('exit 42')
        self.assertEqual(r.returncode, 42)
        self.ended(sid)
        # killed by a signal: ssh says 255 as it does without the recorder
        r, sid = self.ssh('kill -TERM $$')
        self.assertEqual(r.returncode, 255, r.stderr)
        self.ended(sid)

    def test_command_holds_only_the_daemons_pipes(self):
        """The command runs with fds 0-2 only, pipes of the daemon's (not
        sshd's); its parent, the shim, cannot be looked into (it holds
        the daemon's connection)."""
        r, sid = self.ssh('ls /proc/self/fd; stat -L -c %F /proc/self/fd/0 /proc/self/fd/1 /proc/self/fd/2; '
                          'ls /proc/$PPID/fd 2>&1 >/dev/null | sed "s/.*: //"')
        self.assertEqual(r.stdout, b'0\n1\n2\n3\nfifo\nfifo\nfifo\nPermission denied\n', r.stderr)
        self.ended(sid)

    def test_daemon_stop_ends_command_recorded(self):
        """A command session does not outlive its daemon unrecorded: a stop
        ends it (end line, reason shutdown) and the command sees EOF."""
        R = h.Daemon()
        self.addCleanup(R.cleanup)
        SSHD.pam.set(line(R))
        p = subprocess.Popen(SSHD.client_argv(USER, 'cat; echo cat-saw-eof >&2', tty=False), stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ph.CLIENT_ENV)
        h.register(p.pid, 'ssh')
        try:
            p.stdin.write(b'before-stop\n')
            p.stdin.flush()
            self.assertEqual(p.stdout.readline(), b'before-stop\n')
            sids = R.wait_event('session_command')
            self.assertEqual(len(sids), 1)
            sid = sids[0]['sd']['relay@55555']['sid']
            self.assertEqual(R.stop(), 0)
            p.wait(30)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
            for f in (p.stdout, p.stderr):
                f.close()
        end = [json.loads(raw) for raw in raw_lines(R, sid.encode()) if b'"end":' in raw]
        self.assertEqual([e['end']['reason'] for e in end], ['shutdown'])
        self.assertEqual(h.channel_bytes([(None, json.loads(x)) for x in raw_lines(R, sid.encode())], sid, 'i'),
                         b'before-stop\n')

    def test_terminal_made_inside_is_recorded(self):
        """The escape of the issue: a pty made by the user inside a
        pty-less session. What the hidden shell printed is recorded."""
        script = b'echo MARK-$((6*7)); sleep 0.5; exit\n'
        r, sid = self.ssh('script -qc bash /dev/null', stdin=script, timeout=60)
        self.assertIn(b'MARK-42', r.stdout)
        lines, _ = self.ended(sid)
        self.assertIn(b'MARK-42', h.channel_bytes(lines, sid, 'o'))
        self.assertIn(b'echo MARK-$((6*7))', h.channel_bytes(lines, sid, 'i'))


class Transfers(Base):
    def test_scp_50mb_both_ways(self):
        name = self.run_id + '-big.bin'
        data, src = self.payload(BIG, name)
        sid = self.transfer('scp', ['-O', src, '%s@127.0.0.1:%s' % (USER, name)])
        with open(self.remote(name), 'rb') as f:
            self.assertEqual(f.read(), data)
        lines, _ = self.ended(sid)
        # what scp -t read: its protocol's header, the file, the final NUL
        self.assertEqual(h.channel_bytes(lines, sid, 'i'), b'C0644 %d %s\n' % (BIG, name.encode()) + data + b'\0')
        back = os.path.join(T, 'back-' + name)
        sid = self.transfer('scp', ['-O', '%s@127.0.0.1:%s' % (USER, name), back])
        with open(back, 'rb') as f:
            self.assertEqual(f.read(), data)
        lines, _ = self.ended(sid)
        out = h.channel_bytes(lines, sid, 'o')
        self.assertEqual(out, b'C0644 %d %s\n' % (BIG, name.encode()) + data + b'\0')

    def test_sftp(self):
        name = self.run_id + '-sftp.bin'
        data, src = self.payload(200000, name)
        batch = os.path.join(T, 'sftp.batch')
        back = os.path.join(T, 'back-' + name)
        with open(batch, 'w') as f:
            f.write('put %s %s\nget %s %s\n' % (src, name, name, back))
        sid = self.transfer('sftp', ['-b', batch, '%s@127.0.0.1' % USER])
        with open(back, 'rb') as f:
            self.assertEqual(f.read(), data)
        lines, _ = self.ended(sid)
        i, o = h.channel_bytes(lines, sid, 'i'), h.channel_bytes(lines, sid, 'o')
        # the file went up in write requests and came back in data replies,
        # each chunk whole in the stream
        for off in range(0, len(data) - 8192, 32768):
            self.assertIn(data[off:off + 8192], i)
            self.assertIn(data[off:off + 8192], o)
        hdr = [o for _, o in lines if 'hdr' in o][0]
        self.assertIn('sftp-server', hdr['meta'].get('cmd', ''))


class Metadata(Base):
    daemon = property(lambda self: M)

    def test_scp_recorded_as_size_and_sha256(self):
        name = self.run_id + '-meta.bin'
        data, src = self.payload(1 << 20, name)
        sid = self.transfer('scp', ['-O', src, '%s@127.0.0.1:%s' % (USER, name)])
        lines, _ = self.ended(sid)
        stream = b'C0644 %d %s\n' % (len(data), name.encode()) + data + b'\0'
        self.assertEqual(h.channel_bytes(lines, sid, 'i'), b'')
        self.assertEqual(h.channel_bytes(lines, sid, 'o'), b'')
        got = {m.group(1): (int(m.group(2)), m.group(3))
               for m in (MARKER_RX.match(t) for t in markers(lines, sid)) if m}
        self.assertEqual(got['stdin'], (len(stream), hashlib.sha256(stream).hexdigest()))
        # scp -t answers one NUL per step: the header, the file, the start
        self.assertEqual(got['stdout'], (3, hashlib.sha256(b'\0\0\0').hexdigest()))

    def test_sftp_and_plain_commands(self):
        name = self.run_id + '-meta2.bin'
        data, src = self.payload(100000, name)
        batch = os.path.join(T, 'sftp-meta.batch')
        with open(batch, 'w') as f:
            f.write('put %s %s\n' % (src, name))
        sid = self.transfer('sftp', ['-b', batch, '%s@127.0.0.1' % USER])
        lines, _ = self.ended(sid)
        self.assertEqual(h.channel_bytes(lines, sid, 'i'), b'')
        got = [MARKER_RX.match(t) for t in markers(lines, sid)]
        self.assertEqual([m.group(1) for m in got if m], ['stdin', 'stdout'])
        self.assertGreater(int([m for m in got if m][0].group(2)), len(data))
        # other commands are recorded with their content as always
        r, sid = self.ssh('cat', stdin=b'not a transfer\n')
        self.assertEqual(r.stdout, b'not a transfer\n')
        lines, _ = self.ended(sid)
        self.assertEqual(h.channel_bytes(lines, sid, 'i'), b'not a transfer\n')
        self.assertEqual(markers(lines, sid), [])


class Policy(Base):
    daemon = property(lambda self: P)

    def refused(self, cmd, want):
        before = len(P.events('session_refused'))
        r, sid = self.ssh(cmd, stdin=b'echo SHOULD-NOT-RUN\n')
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stdout, b'')
        self.assertEqual(r.stderr, b'sessrec: ' + want + b'\n')
        ev = P.wait_event('session_refused', sid, count=1)
        self.assertEqual(len(P.events('session_refused')), before + 1)
        self.assertEqual(ev[0]['sd']['relay@55555'].get('reason'), 'notty_policy')
        lines, end = self.ended(sid)
        self.assertEqual(end['reason'], 'refused')
        self.assertEqual(h.channel_bytes(lines, sid, 'o'), b'')

    def test_not_listed_refused_with_one_line(self):
        self.refused('bash -i', b'bash is not allowed without a terminal (NoTtyCommands=)')
        self.refused('/usr/bin/script -qc bash /dev/null',
                     b'script is not allowed without a terminal (NoTtyCommands=)')

    def test_chained_commands_refused(self):
        self.refused('wc -c; bash',
                     b'a command without a terminal must be one simple command (it holds ;)')
        self.refused('wc -c $(bash)',
                     b'a command without a terminal must be one simple command (it holds $()')

    def test_listed_commands_run(self):
        r, sid = self.ssh('wc -c', stdin=b'abc')
        self.assertEqual((r.returncode, r.stdout), (0, b'3\n'))
        self.ended(sid)
        name = self.run_id + '-pol.bin'
        data, src = self.payload(10000, name)
        self.transfer('scp', ['-O', src, '%s@127.0.0.1:%s' % (USER, name)])
        self.transfer('scp', [src, '%s@127.0.0.1:%s' % (USER, name + '2')])  # sftp
        with open(self.remote(name + '2'), 'rb') as f:
            self.assertEqual(f.read(), data)


if __name__ == '__main__':
    unittest.main(verbosity=2)
