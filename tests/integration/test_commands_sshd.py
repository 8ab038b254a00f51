"""Command records of SSH logins through the real sshd, pam_sessrec and
sessrec-shell into a private sessrecd (eBPF source): an interactive session
running /bin/true 200 times, sh -c 'exit 3', a pipeline, a command killed
by a signal, a background job, a double-forked daemon that runs a command
after its parent exited, and `su -c id OTHER` (typed password): every exec
with its argv, status and duration, the id run as OTHER; nothing from a
second concurrent login or from execs outside any session; and a command
session without a pty (`ssh host 'cmd'`) gets its own commands' records.
Runs in a private mount namespace."""
import json
import os
import pwd
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
import pamharness as ph  # noqa: E402

A, B, C, OTHER = 'srp-cmd-a', 'srp-cmd-b', 'srp-cmd-c', 'srp-cmd-o'
D = T = SSHD = None

MAIN = ("for i in $(seq 200); do /bin/true; done; sh -c 'exit 3'; "
        "/bin/echo x | /usr/bin/tr x y | /bin/cat; /bin/sleep 30 & /bin/sleep 0.2; kill -9 $!; wait; "
        "/bin/sh -c '/bin/sleep 0.1; /bin/echo bg-done' & wait; "
        "setsid /bin/sh -c '(/bin/sh -c \"/bin/sleep 0.3; /usr/bin/env DAEMONRAN=1 /bin/true\" &); exit 0'; "
        "/bin/sleep 1; echo PHASE-$((1+1))\r")


def setUpModule():
    global D, T, SSHD
    D = h.Daemon()
    T = h.tmpdir('srpcmd-')
    keys = ph.Keys(T)
    ph.ensure_user(A, '/bin/bash', keys)
    ph.ensure_user(B, '/bin/bash', keys)
    ph.ensure_user(C, '/bin/bash', keys)
    ph.ensure_user(OTHER, '/bin/bash', password=True)
    line = ph.module_line(socket=D.sock, users='%s,%s,%s' % (A, B, C), timeout_ms=5000)
    SSHD = ph.Sshd(T, keys, line, [A, B, C])


def tearDownModule():
    ph.tear_down(SSHD, D, T)


def execs(lines, sid):
    return [o for o in h.session_lines(lines, sid) if isinstance(o.get('exec'), dict)]


class SshdCommands(unittest.TestCase):
    def test_login_commands(self):
        if 'commands: source bpf' not in D.output():
            self.fail('the eBPF source did not start: %s' % D.output()[-500:])
        pa, pb = SSHD.login(A), SSHD.login(B)
        self.addCleanup(pa.finish)
        self.addCleanup(pb.finish)
        pa.expect(h.PROMPT, 30)
        pb.expect(h.PROMPT, 30)
        outside = subprocess.Popen(['/bin/sh', '-c', 'for i in $(seq 300); do /bin/true outside-marker; done'])
        h.register(outside.pid, 'outside loop')
        pb.send('for i in $(seq 50); do /bin/true second-marker; done; exit 0\r')
        pa.send(MAIN)
        pa.expect(r'PHASE-2', 120)
        pa.expect(h.PROMPT, 10)
        pa.send('su -c id %s\r' % OTHER)
        pa.expect('Password:', 30)
        pa.send(ph.PASSWORD + '\r')
        pa.expect(r'uid=\d+\(%s\)' % OTHER, 30)
        pa.expect(h.PROMPT, 10)
        pa.send('exit 0\r')
        self.assertEqual(pa.wait(30), 0, pa.out[-300:])
        self.assertEqual(pb.wait(60), 0, pb.out[-300:])
        outside.wait()
        h.forget(outside.pid)
        sa, sb = ph.sids_of_user(D, A), ph.sids_of_user(D, B)
        self.assertEqual((len(sa), len(sb)), (1, 1))
        sa, sb = sa[0], sb[0]
        self.assertIsNotNone(D.wait_end(sa, 30))
        self.assertIsNotNone(D.wait_end(sb, 30))
        lines = D.lines()
        h.check_shard_sane(self, lines)
        ea, eb = execs(lines, sa), execs(lines, sb)
        exits = {o['exit']['pid']: o['exit'] for o in h.session_lines(lines, sa) if isinstance(o.get('exit'), dict)}
        argv = [e['exec']['argv'] for e in ea]
        uid_a, uid_o = pwd.getpwnam(A).pw_uid, pwd.getpwnam(OTHER).pw_uid
        # every /bin/true of the loop (and env's exec of it), each exited 0
        trues = [e['exec'] for e in ea if e['exec']['argv'] == ['/bin/true']]
        self.assertEqual(len(trues), 201)
        for e in trues:
            self.assertEqual((exits[e['pid']]['code'], e['uid']), (0, uid_a))
        by = {tuple(e['exec']['argv']): e['exec'] for e in ea}
        self.assertEqual(exits[by[('sh', '-c', 'exit 3')]['pid']]['code'], 3)
        self.assertEqual(exits[by[('/bin/sleep', '30')]['pid']]['signal'], 9)
        for want in (['/bin/echo', 'x'], ['/usr/bin/tr', 'x', 'y'], ['/bin/cat'], ['/bin/echo', 'bg-done'],
                     ['/usr/bin/env', 'DAEMONRAN=1', '/bin/true'], ['su', '-c', 'id', OTHER]):
            self.assertIn(want, argv)
        # su's command ran as OTHER, in this session
        ids = [e['exec'] for e in ea if e['exec']['argv'] == ['id']]
        self.assertEqual(len(ids), 1, argv[-10:])
        self.assertEqual(ids[0]['uid'], uid_o)
        self.assertEqual(exits[ids[0]['pid']]['code'], 0)
        # every exec of the session has its exit, the login shell's too
        self.assertEqual(sorted(set(e['exec']['pid'] for e in ea)), sorted(exits))
        # nothing of the other login or of the rest of the system
        self.assertNotIn('second-marker', json.dumps(argv))
        self.assertNotIn('outside-marker', json.dumps(argv))
        argv_b = [e['exec']['argv'] for e in eb]
        self.assertEqual(argv_b.count(['/bin/true', 'second-marker']), 50)
        self.assertNotIn('outside-marker', json.dumps(argv_b))
        self.assertNotIn(['/bin/true'], argv_b)
        # (C's command session, from the other test, is the only other one)
        sc = ph.sids_of_user(D, C)
        for _, o in lines:
            if o and ('exec' in o or 'exit' in o):
                self.assertIn(o['sid'], [sa, sb] + sc)

    def test_command_session_commands(self):
        """ssh host 'cmd' (no pty): its commands land in its own session."""
        r = SSHD.run(C, "ls /nonexistent-dir-cmdsess; sh -c 'exit 3'; /bin/echo cmdsess-done")
        self.assertIn(b'cmdsess-done', r.stdout)
        sids = [s for s in ph.sids_of_user(D, C) if D.wait_end(s, 30) is not None]
        lines = D.lines()
        mine = [s for s in sids if any('/nonexistent-dir-cmdsess' in json.dumps(o['exec'].get('argv'))
                                       for o in execs(lines, s))]
        self.assertEqual(len(mine), 1, sids)
        sid = mine[0]
        ex = execs(lines, sid)
        exits = {o['exit']['pid']: o['exit'] for o in h.session_lines(lines, sid) if isinstance(o.get('exit'), dict)}
        by = {tuple(e['exec']['argv']): e['exec'] for e in ex}
        self.assertIn(('ls', '/nonexistent-dir-cmdsess'), by)
        self.assertEqual(exits[by[('ls', '/nonexistent-dir-cmdsess')]['pid']]['code'], 2)
        self.assertEqual(exits[by[('sh', '-c', 'exit 3')]['pid']]['code'], 3)


if __name__ == '__main__':
    h.in_private_mount_ns()
    unittest.main(verbosity=2)
