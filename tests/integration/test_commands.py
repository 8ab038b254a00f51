"""Command records (sessrecd's command tracer, issue 12) under `sessrecctl
record` with a private daemon: with eBPF, every exec of the session with
its argv, status and duration (200 x true, exit 3, a pipeline, a command
killed by a signal, a background job, a double-forked daemon that runs a
command after its parent exited, hostile and 100 KB arguments), nothing from
a second concurrent session or from a loop of execs outside any session;
sessrecctl commands/list/grep/status read them. The first session of a
daemon that has just started (its own socket or an activated one) has its
first exec. CommandSource=proc: every
exec and exit, argv either exact or null, never a guess. CommandSource=off
and BPF taken away (capabilities dropped): the daemon says so once and
records sessions."""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

HOSTILE = 'hostile\nline "q" \\ \x1b[31m'
MAIN = r"""
printf 'main-session-start\n'
for i in $(seq 200); do /bin/true; done
/bin/sh -c 'exit 3'
ls /nonexistent-cmdtrace-dir >/dev/null 2>&1
/bin/echo piped | /usr/bin/tr a-z A-Z | /bin/cat >/dev/null
/bin/sleep 30 & /bin/sleep 0.2; kill -9 $!; wait
/bin/sh -c '/bin/sleep 0.1; /bin/echo bg-job-done' & wait
setsid /bin/sh -c '(/bin/sh -c "/bin/sleep 0.3; /usr/bin/env DAEMONRAN=1 /bin/true" &); exit 0'
/bin/sleep 1
/bin/echo "$(printf 'hostile\nline "q" \\ \033[31m')" >/dev/null
/bin/echo "$(printf 'bad\377\376')" >/dev/null
/bin/echo "$(head -c 100000 /dev/zero | tr '\0' x)" >/dev/null
exit 0
"""
SECOND = r"""
printf 'second-session-start\n'
for i in $(seq 50); do /bin/true second-session-marker; done
exit 0
"""
OUTSIDE = 'for i in $(seq 300); do /bin/true outside-marker; done'


def execs(lines, sid):
    return [o for o in h.session_lines(lines, sid) if isinstance(o.get('exec'), dict)]


def exits(lines, sid):
    return {o['exit']['pid']: o['exit'] for o in h.session_lines(lines, sid) if isinstance(o.get('exit'), dict)}


def argvs(lines, sid):
    return [e['exec']['argv'] for e in execs(lines, sid)]


def run_record(d, script, tag):
    p = h.record(d.sock, script)
    assert p.wait(60) == 0, 'record of %s failed: %r' % (tag, p.out[-300:])
    p.finish()
    sids = h.sids_with_output(d.lines(), tag.encode())
    assert len(sids) == 1, 'recordings of %s: %r' % (tag, sids)
    assert d.wait_end(sids[0]) is not None, 'no end line for %s' % tag
    return sids[0]


class BpfTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = h.Daemon()
        # Two sessions at once, and execs outside any session meanwhile.
        outside = subprocess.Popen(['/bin/sh', '-c', OUTSIDE])
        h.register(outside.pid, 'outside loop')
        p1 = h.record(cls.d.sock, MAIN)
        p2 = h.record(cls.d.sock, SECOND)
        for p in (p1, p2):
            assert p.wait(60) == 0, 'record failed: %r' % p.out[-300:]
            p.finish()
        outside.wait()
        h.forget(outside.pid)
        cls.lines = cls.d.lines()
        cls.main = h.sids_with_output(cls.lines, b'main-session-start')[0]
        cls.second = h.sids_with_output(cls.lines, b'second-session-start')[0]
        assert cls.d.wait_end(cls.main) and cls.d.wait_end(cls.second)
        cls.lines = cls.d.lines()

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()

    def test_source_named(self):
        self.assertIn('commands: source bpf', self.d.output())

    def test_shard_sane(self):
        h.check_shard_sane(self, self.lines)

    def test_every_true(self):
        trues = [e for e in execs(self.lines, self.main) if e['exec']['argv'] == ['/bin/true']]
        # the loop's 200, and the daemonised env's exec of /bin/true (same pid)
        self.assertEqual(len(trues), 201)
        ex = exits(self.lines, self.main)
        for e in trues:
            x = ex.get(e['exec']['pid'])
            self.assertIsNotNone(x, 'no exit for %r' % e)
            self.assertEqual((x['code'], x['signal']), (0, None))
            self.assertGreaterEqual(x['dur'], 0)
            self.assertEqual(e['exec']['uid'], 0)
            self.assertEqual(e['exec']['cwd'], os.getcwd())

    def test_statuses(self):
        ex = exits(self.lines, self.main)
        by = {tuple(e['exec']['argv'][:3]): e['exec'] for e in execs(self.lines, self.main)}
        self.assertEqual(ex[by[('/bin/sh', '-c', 'exit 3')]['pid']]['code'], 3)
        self.assertEqual(ex[by[('ls', '/nonexistent-cmdtrace-dir')]['pid']]['code'], 2)
        killed = ex[by[('/bin/sleep', '30')]['pid']]
        self.assertEqual((killed['code'], killed['signal']), (None, 9))

    def test_pipeline_background_daemon(self):
        a = argvs(self.lines, self.main)
        for want in (['/bin/echo', 'piped'], ['/usr/bin/tr', 'a-z', 'A-Z'], ['/bin/cat'],
                     ['/bin/echo', 'bg-job-done'], ['/usr/bin/env', 'DAEMONRAN=1', '/bin/true'],
                     ['setsid', '/bin/sh', '-c',
                      '(/bin/sh -c "/bin/sleep 0.3; /usr/bin/env DAEMONRAN=1 /bin/true" &); exit 0']):
            self.assertIn(want, a)
        # the daemonised command ran after its parent (the setsid shell) exited
        ex = exits(self.lines, self.main)
        execs_by_argv = {tuple(e['exec']['argv']): e for e in execs(self.lines, self.main)}
        late = execs_by_argv[('/usr/bin/env', 'DAEMONRAN=1', '/bin/true')]
        parent = execs_by_argv[('setsid', '/bin/sh', '-c',
                                '(/bin/sh -c "/bin/sleep 0.3; /usr/bin/env DAEMONRAN=1 /bin/true" &); exit 0')]
        self.assertGreater(late['t'], parent['t'] + ex[parent['exec']['pid']]['dur'])

    def test_hostile_and_huge(self):
        a = argvs(self.lines, self.main)
        self.assertIn(['/bin/echo', HOSTILE], a)
        self.assertIn(['/bin/echo', 'bad\ufffd\ufffd'], a)
        big = [e['exec'] for e in execs(self.lines, self.main) if e['exec']['argv'][:1] == ['/bin/echo']
               and len(e['exec']['argv']) == 2 and e['exec']['argv'][1].startswith('xxxx')]
        self.assertEqual(len(big), 1)
        self.assertIs(big[0].get('argv_truncated'), True)
        self.assertGreater(len(big[0]['argv'][1]), 3000)
        self.assertEqual(set(big[0]['argv'][1]), {'x'})

    def test_no_leaks(self):
        main = json.dumps(argvs(self.lines, self.main))
        second = argvs(self.lines, self.second)
        self.assertNotIn('outside-marker', main)
        self.assertNotIn('second-session-marker', main)
        self.assertEqual(sum(1 for a in second if a == ['/bin/true', 'second-session-marker']), 50)
        self.assertNotIn('outside-marker', json.dumps(second))
        self.assertNotIn(['/bin/true'], second)  # the main session's loop
        # nothing outside a session's lines
        for _, o in self.lines:
            if o and ('exec' in o or 'exit' in o):
                self.assertIn(o['sid'], (self.main, self.second))

    def test_ctl_commands(self):
        r = h.ctl('commands', '--dir', self.d.shards, self.main[:8])
        self.assertEqual(r.returncode, 0, r.stderr)
        out = r.stdout.decode()
        self.assertEqual(out.count('  /bin/true\n'), 201)
        self.assertIn("/bin/sh -c 'exit 3'", out)
        self.assertIn('sig:9', out)
        self.assertNotIn('second-session-marker', out)
        # the hostile argument is shown escaped, no raw escape reaches the terminal
        self.assertNotIn(b'\x1b', r.stdout)
        self.assertIn('\\x1b[31m', out)
        r = h.ctl('commands', '--json', '--dir', self.d.shards, self.second)
        rows = [json.loads(x) for x in r.stdout.splitlines()]
        self.assertEqual(len(rows), 52)  # sh -c, seq, 50 x true
        self.assertTrue(all(x['sid'] == self.second and x['exit']['code'] == 0 for x in rows))

    def test_list_grep_command(self):
        r = h.ctl('list', '--json', '--dir', self.d.shards, '--command', 'DAEMONRAN')
        self.assertEqual([json.loads(x)['sid'] for x in r.stdout.splitlines()], [self.main])
        r = h.ctl('list', '--json', '--dir', self.d.shards, '--command', 'second-session-marker$')
        self.assertEqual([json.loads(x)['sid'] for x in r.stdout.splitlines()], [self.second])
        r = h.ctl('grep', '--dir', self.d.shards, '--command', 'second-session-marker', 'session-start')
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(self.second[:8], r.stdout.decode())
        self.assertNotIn(self.main[:8], r.stdout.decode())

    def test_status(self):
        r = h.ctl('status', '--socket', self.d.sock)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn('commands: bpf\n', r.stdout.decode())


class ResumeTest(unittest.TestCase):
    def test_tracked_across_reexec(self):
        # SIGUSR2: the daemon re-executes and resumes its sessions; it finds
        # the session's processes again (a background job started before)
        # and records what they run after it.
        d = h.Daemon()
        try:
            go = os.path.join(d.tmp, 'go')
            p = h.record(d.sock, 'printf "resume-start\\n"; (while [ ! -e %s ]; do /bin/sleep 0.1; done; '
                                 '/bin/true bg-after-resume) & read y; /bin/true fg-after-resume; wait; exit 0' % go)
            self.addCleanup(p.finish)
            p.expect('resume-start')
            self.assertTrue(h.wait_for(lambda: h.sids_with_output(d.lines(), b'resume-start'), 10))
            sid = h.sids_with_output(d.lines(), b'resume-start')[0]
            os.kill(d.pid, signal.SIGUSR2)
            self.assertTrue(d.wait_event('session_resumed', sid=sid, timeout=10), d.output()[-500:])
            # the tracer starts after the sessions resume: what runs before is in the gap
            self.assertTrue(h.wait_for(lambda: d.output().count('commands: source bpf') == 2, 10))
            with open(go, 'w'):
                pass
            p.send('a\r')
            self.assertEqual(p.wait(20), 0, p.out[-300:])
            self.assertIsNotNone(d.wait_end(sid))
            a = argvs(d.lines(), sid)
            self.assertIn(['/bin/true', 'fg-after-resume'], a)
            self.assertIn(['/bin/true', 'bg-after-resume'], a)
        finally:
            d.cleanup()


class FreshDaemonTest(unittest.TestCase):
    """The first session of a daemon that has just started, attached at
    once: the eBPF load runs in a thread, and no session is served before it
    is in, so the first exec of the session is recorded (its own socket is
    made after the load; an activated one is served after it)."""

    def first_session(self, d, sock):
        p = h.record(sock, '/bin/true fresh-first; printf "fresh-start\\n"; exit 0')
        self.addCleanup(p.finish)
        self.assertEqual(p.wait(30), 0, p.out[-300:])
        sid = h.sids_with_output(d.lines(), b'fresh-start')[0]
        self.assertIsNotNone(d.wait_end(sid))
        self.assertIn(['/bin/true', 'fresh-first'], argvs(d.lines(), sid))
        self.assertEqual(d.output().count('commands: source bpf'), 1, d.output()[-500:])

    def test_own_socket(self):
        d = h.Daemon(start=False)
        self.addCleanup(d.cleanup)
        d.start(wait=False)
        self.assertTrue(h.wait_for(lambda: os.path.exists(d.sock), 10, 0.001), d.output()[-500:])
        self.first_session(d, d.sock)

    @unittest.skipUnless(shutil.which('systemd-socket-activate'), 'systemd-socket-activate not installed')
    def test_activated_socket(self):
        d = h.Daemon(start=False, socket_flag=False)
        sock = d.sock = os.path.join(d.tmp, 'activated.sock')
        d.argv = ['systemd-socket-activate', '--seqpacket', '-l', sock, '--fdname=sessrecd.socket'] + d.argv
        self.addCleanup(d.cleanup)
        d.start(wait=False)
        self.assertTrue(h.wait_for(lambda: os.path.exists(sock), 5), 'no listening socket')
        # A connection starts the daemon (one refused before listen() starts
        # nothing); the session follows while the daemon loads eBPF.
        for _ in range(100):
            c = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            try:
                c.connect(sock)
                break
            except ConnectionRefusedError:
                time.sleep(0.05)
            finally:
                c.close()
        self.first_session(d, sock)


class ProcTest(unittest.TestCase):
    def test_proc_fallback(self):
        d = h.Daemon(conf={'Recording': {'CommandSource': 'proc'}})
        try:
            script = 'printf "proc-start\\n"; for i in $(seq 50); do /bin/true; done; /bin/sh -c "exit 3"; ' \
                     '/bin/sleep 0.3; exit 0'
            sid = run_record(d, script, 'proc-start')
            lines = d.lines()
            h.check_shard_sane(self, lines)
            ex = exits(lines, sid)
            es = [e['exec'] for e in execs(lines, sid)]
            # sh -c, seq, 50 x true, sh -c "exit 3", sleep: every exec and its exit
            self.assertEqual(len(es), 54)
            # every exit; the connector sends the shell's own after its
            # terminal closed, so the session may end before it arrives
            missing = set(e['pid'] for e in es) - set(ex)
            self.assertLessEqual(missing, {es[0]['pid']})
            self.assertLessEqual(set(ex), set(e['pid'] for e in es))
            self.assertEqual(sorted(x['code'] for x in ex.values()).count(3), 1)
            for e in es:
                self.assertIn('argv', e)
                # exact or null, never a guess
                self.assertIn(e['argv'], (None, ['/bin/true'], ['seq', '50'], ['/bin/sh', '-c', 'exit 3'],
                                          ['/bin/sleep', '0.3'], ['/bin/sh', '-c', script]))
            self.assertIn(['/bin/sleep', '0.3'], [e['argv'] for e in es])
            self.assertIn('commands: source proc', d.output())
            r = h.ctl('status', '--socket', d.sock)
            self.assertIn('commands: proc\n', r.stdout.decode())
        finally:
            d.cleanup()

    def test_off(self):
        d = h.Daemon(conf={'Recording': {'CommandSource': 'off'}})
        try:
            sid = run_record(d, 'printf "off-start\\n"; /bin/true; exit 0', 'off-start')
            self.assertEqual(execs(d.lines(), sid), [])
            self.assertIn('commands: not recorded (CommandSource=off)', d.output())
            r = h.ctl('status', '--socket', d.sock)
            self.assertIn('commands: off\n', r.stdout.decode())
        finally:
            d.cleanup()

    def test_command_events(self):
        d = h.Daemon(conf={'Syslog': {'CommandEvents': 'yes'}})
        try:
            sid = run_record(d, 'printf "ev-start\\n"; /bin/sh -c "exit 4"; /bin/echo "q\\"]x"; exit 0',
                             'ev-start')
            ev = d.wait_event('command_executed', sid=sid, count=3)
            sd = [e['sd']['relay@55555'] for e in ev]
            by = {x['argv']: x for x in sd}
            self.assertEqual(by['/bin/sh -c exit 4']['code'], '4')
            self.assertEqual(by['/bin/sh -c exit 4']['user'], 'root')
            # the JSON escaping of argv, then RFC 5424's of the value: read back whole
            self.assertEqual(by['/bin/echo q\\\"]x']['code'], '0')
            self.assertTrue(all(float(x['duration_s']) >= 0 and int(x['pid']) > 0 for x in sd))
        finally:
            d.cleanup()
        d = h.Daemon()
        try:
            run_record(d, 'printf "noev-start\\n"; /bin/true; exit 0', 'noev-start')
            self.assertEqual(d.events('command_executed'), [])
        finally:
            d.cleanup()

    def test_bpf_unavailable(self):
        # Without CAP_BPF/CAP_PERFMON/CAP_SYS_ADMIN the program cannot load:
        # the proc connector serves; without CAP_NET_ADMIN too, nothing does
        # and sessions are still recorded.
        for drop, source in (('-bpf,-perfmon,-sys_admin', 'proc'),
                             ('-bpf,-perfmon,-sys_admin,-net_admin', 'none')):
            d = h.Daemon(argv_prefix=['setpriv', '--bounding-set', drop, '--'])
            try:
                sid = run_record(d, 'printf "nobpf-start\\n"; /bin/sleep 0.2; exit 0', 'nobpf-start')
                out = d.output()
                self.assertEqual(out.count('commands: '), 1, out)
                self.assertIn('eBPF: cannot load the program', out)
                self.assertIsNotNone(d.wait_end(sid))
                r = h.ctl('status', '--socket', d.sock)
                self.assertIn('commands: %s' % source, r.stdout.decode())
                if source == 'proc':
                    self.assertIn(['/bin/sleep', '0.2'], argvs(d.lines(), sid))
                else:
                    self.assertEqual(execs(d.lines(), sid), [])
            finally:
                d.cleanup()


if __name__ == '__main__':
    unittest.main()
