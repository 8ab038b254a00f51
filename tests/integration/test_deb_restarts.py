"""RESTARTS of sessrecd(8) under the real systemd (nspawnfix), from the
installed .deb files: a user enrolled as README says logs in with the real
ssh client into the container's sshd (the shipped sshd snippet, the PAM
profile enabled) and is recorded. In the middle of that login, while the
shell prints numbered lines: `systemctl restart sessrecd`, `systemctl kill
-s KILL sessrecd`, a watchdog timeout (the daemon SIGSTOPped, WatchdogSec=3
by a drop-in) and `systemctl daemon-reexec`. The client stays connected,
the shell gets no SIGHUP, every line arrives once and in order, the
recording is byte-for-byte what the client's terminal got, with one gap
marker per daemon restart (three: daemon-reexec re-executes systemd, not
the daemon, whose pid stays). Skipped (77) where nspawn cannot run."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
import harness_deb as hd  # noqa: E402
import harness_survive as hs  # noqa: E402
import nspawnfix as nf  # noqa: E402

BOX = None
WATCHDOG_DROPIN = '/etc/systemd/system/sessrecd.service.d/test-watchdog.conf'


def setUpModule():
    global BOX
    BOX = hd.Box()
    BOX.install(hd.tree_version())
    BOX.sh("mkdir -p %s && printf '[Service]\\nWatchdogSec=3\\n' > %s"
           % (os.path.dirname(WATCHDOG_DROPIN), WATCHDOG_DROPIN))
    BOX.run(['systemctl', 'daemon-reload'])
    BOX.run(['systemctl', 'restart', 'sessrecd.service'])
    BOX.enroll()


def tearDownModule():
    if BOX:
        BOX.cleanup()


def wait_new_main(tc, old, timeout=30.0):
    """The daemon's MainPID once systemd runs a new one (host pid)."""
    def new():
        if BOX.run(['systemctl', 'is-active', 'sessrecd.service'], check=False).stdout.strip() != 'active':
            return None
        pid = BOX.main_pid('sessrecd.service')
        return pid if pid and pid != old else None
    pid = h.wait_for(new, timeout, 0.1)
    tc.assertTrue(pid, 'systemd started no new sessrecd: %s' % BOX.journal('sessrecd.service')[-2000:])
    return pid


class Restarts(unittest.TestCase):
    def ticks(self, p, tag, disrupt):
        """The shell prints tag1..tag20; disrupt() runs after tag3."""
        p.send('for i in $(seq 1 20); do echo %s$i; sleep 0.1; done\r' % tag)
        p.expect(rb'%s3\r\n' % tag.encode())
        disrupt()
        p.expect(rb'%s20\r\n' % tag.encode(), 30)
        p.expect(h.PROMPT_RX)
        self.assertEqual(hs.numbers(p.out, tag), list(range(1, 21)), tag)

    def test_login_survives_restart_kill_watchdog_reexec(self):
        p, sid, hup = BOX.recorded_login(self)
        pid = BOX.main_pid('sessrecd.service')

        self.ticks(p, 'restart-', lambda: BOX.run(['systemctl', 'restart', 'sessrecd.service']))
        pid = wait_new_main(self, pid)

        self.ticks(p, 'kill-', lambda: BOX.run(['systemctl', 'kill', '-s', 'KILL', 'sessrecd.service']))
        pid = wait_new_main(self, pid)

        def stop_it():
            BOX.run(['systemctl', 'kill', '--kill-whom=main', '-s', 'STOP', 'sessrecd.service'])
            wait_new_main(self, pid)
        self.ticks(p, 'watchdog-', stop_it)
        self.assertIn('Watchdog timeout', BOX.journal('sessrecd.service'))
        pid = BOX.main_pid('sessrecd.service')

        self.ticks(p, 'reexec-', lambda: BOX.run(['systemctl', 'daemon-reexec']))
        h.wait_for(lambda: BOX.run(['systemctl', 'is-system-running'], check=False).stdout.strip() == 'running', 15)
        self.assertEqual(BOX.main_pid('sessrecd.service'), pid, 'daemon-reexec restarted sessrecd')

        p.send('exit 7\r')
        self.assertEqual(p.wait(30), 7, 'ssh exit status: %r' % p.out[-300:])
        self.assertFalse(os.path.exists(hup), 'the shell got SIGHUP')
        end = BOX.end_line(sid)
        self.assertIsNotNone(end, 'no end line')
        self.assertEqual(end['end']['reason'], 'exit')
        lines = BOX.lines()
        h.check_shard_sane(self, lines)
        hs.check_recording(self, lines, sid, p.out, 3)
        print('gap markers: %r' % hs.markers(lines, sid), flush=True)
        # Each resume announced in the journal (the shipped Targets=journal).
        r = BOX.run(['journalctl', '-q', '--no-pager', '-o', 'cat', '--output-fields=SESSREC_SID',
                     'SESSREC_EVENT=session_resumed', 'SESSREC_SID=' + sid], check=False)
        self.assertEqual(len(r.stdout.split()), 3, r.stdout)


if __name__ == '__main__':
    h.in_private_mount_ns()
    nf.skip_unless_possible()
    unittest.main(verbosity=2)
