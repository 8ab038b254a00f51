"""A real ssh login (Debian's sshd with pam_sessrec and sessrec-shell as
ForceCommand, the real ssh client on a pty, bash as the user's shell)
outlives sessrecd: kill -9 and a new start (the keeper holds the fds),
then SIGUSR2 (re-exec). The client stays connected, the shell gets no
SIGHUP (it traps it into a file), what the user typed during the gap
reaches the shell, and the recording is byte-for-byte what the client
showed, with one gap marker per restart; logout gives the exit status and
the end line. Runs in a private mount namespace (the PAM stack is a bind-
mounted test copy)."""
import os
import shutil
import signal
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
import harness_survive as hs  # noqa: E402
import pamharness as ph  # noqa: E402

USER = 'srs-bash'
D = T = SSHD = KEEPER = None


def setUpModule():
    global D, T, SSHD, KEEPER
    D = h.Daemon()
    KEEPER = hs.keeper_of(D.pid)
    T = h.tmpdir('srsurv-')
    keys = ph.Keys(T)
    ph.ensure_user(USER, '/bin/bash', keys)
    sink = ph.SyslogSink(T)
    conf = ph.module_config(T, sink)
    line = ph.module_line(users=USER, socket=D.sock, config=conf, timeout_ms=1000, deploy='forcecommand')
    SSHD = ph.Sshd(T, keys, line, [USER])


def tearDownModule():
    if SSHD:
        SSHD.stop()
    if D:
        D.cleanup()
    if KEEPER:
        hs.wait_gone(KEEPER, 5)
    if T:
        shutil.rmtree(T, ignore_errors=True)


class SshdSurvive(unittest.TestCase):
    def test_login_survives_crash_and_reexec(self):
        pw = ph.pwd.getpwnam(USER)
        hupdir = os.path.join(T, 'hup')
        os.makedirs(hupdir, exist_ok=True)
        os.chown(hupdir, pw.pw_uid, pw.pw_gid)
        hup = os.path.join(hupdir, 'hup')
        p = SSHD.login(USER)
        self.addCleanup(p.finish)
        p.expect(h.PROMPT_RX, 20)
        sid = ph.ask_sid(p)
        p.send("trap 'echo HUP >> %s' HUP\r" % hup)
        p.expect(h.PROMPT_RX)
        p.send('for i in $(seq 1 25); do echo ssh-tick$i; sleep 0.1; done\r')
        p.expect(rb'ssh-tick3\r\n')
        hs.kill9(D)
        time.sleep(0.4)
        p.send('echo typed-in-the-gap\r')      # waits in the outer tty
        time.sleep(0.2)
        D.start()
        p.expect(rb'ssh-tick12\r\n', 10)
        os.kill(D.pid, signal.SIGUSR2)
        p.expect(rb'ssh-tick25\r\n', 10)
        p.expect(rb'typed-in-the-gap\r\n.*typed-in-the-gap\r\n', 10)   # the echo, then the output
        p.expect(h.PROMPT_RX)
        self.assertEqual(hs.numbers(p.out, 'ssh-tick'), list(range(1, 26)))
        p.send('exit 7\r')
        self.assertEqual(p.wait(20), 7, 'ssh exit status: %r' % p.out[-200:])
        self.assertFalse(os.path.exists(hup), 'the shell got SIGHUP')
        self.assertIsNotNone(D.wait_end(sid, 15), 'no end line')
        lines = D.lines()
        h.check_shard_sane(self, lines)
        hs.check_recording(self, lines, sid, p.out, 2)
        self.assertEqual(h.session_lines(lines, sid)[-1]['end']['reason'], 'exit')
        self.assertEqual(hs.keeper_of(D.pid, 0.5), None, 'a second keeper')
        self.assertTrue(h.alive(KEEPER), 'the keeper went away')


if __name__ == '__main__':
    h.in_private_mount_ns()
    unittest.main(verbosity=2)
