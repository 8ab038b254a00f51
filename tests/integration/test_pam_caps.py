"""MaxSessionsPerUser= through the real sshd and pam_sessrec (the module's
line in a test copy of /etc/pam.d/sshd, sessrec-shell as ForceCommand, a
private sessrecd with MaxSessionsPerUser=1): while a user's login is
recorded, their next login is refused with the one line under fail=closed,
goes on unrecorded under fail=open, and the daemon says why
(session_skipped reason=user_session_limit); another user is recorded
meanwhile. Everything runs in a private mount namespace."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
import pamharness as ph  # noqa: E402

HOG, OTHER = 'srp-hog', 'srp-other'
REFUSED = b'Session recording is unavailable; login refused.\r\n'
D = T = SSHD = CONF = SINK = None


def line(fail):
    return ph.module_line(users='%s,%s' % (HOG, OTHER), socket=D.sock, config=CONF, timeout_ms=1000, fail=fail,
                          deploy='forcecommand')


def setUpModule():
    global D, T, SSHD, CONF, SINK
    D = h.Daemon({'Daemon': {'MaxSessionsPerUser': '1'}})
    T = h.tmpdir('srpcap-')
    keys = ph.Keys(T)
    for u in (HOG, OTHER):
        ph.ensure_user(u, '/bin/bash', keys)
    SINK = ph.SyslogSink(T)  # where the module's own events would go
    CONF = ph.module_config(T, SINK)
    SSHD = ph.Sshd(T, keys, line('closed'), [HOG, OTHER])


def tearDownModule():
    ph.tear_down(SSHD, D, T)


class PerUserCapTest(unittest.TestCase):
    def login(self, user):
        p = SSHD.login(user)
        self.addCleanup(p.finish)
        return p

    def skipped(self):
        return [e['sd']['relay@55555'] for e in D.events('session_skipped')]

    def test_second_login_of_a_user(self):
        first = self.login(HOG)
        first.expect(h.PROMPT_RX, 20)
        first.send('echo "[${SESSREC_SID:+recorded}]"\r')
        first.expect(rb'\[recorded\]')
        # fail=closed: refused with the one line, and the reason is said
        second = self.login(HOG)
        self.assertEqual(second.wait(20), 254)
        self.assertEqual(second.out, REFUSED)
        ev = [e for e in self.skipped() if e.get('user') == HOG]
        self.assertEqual([e.get('reason') for e in ev], ['user_session_limit'], ev)
        # another user is not held back
        other = self.login(OTHER)
        other.expect(h.PROMPT_RX, 20)
        other.send('echo "[${SESSREC_SID:+recorded}]"; exit 3\r')
        other.expect(rb'\[recorded\]')
        self.assertEqual(other.wait(20), 3)
        # fail=open: the login goes on, unrecorded
        SSHD.pam.set(line('open'))
        third = self.login(HOG)
        third.expect(h.PROMPT_RX, 20)
        third.send('echo "[${SESSREC_SID:-unrecorded}]"; exit 4\r')
        third.expect(rb'\[unrecorded\]')
        self.assertEqual(third.wait(20), 4)
        self.assertEqual([e.get('reason') for e in self.skipped() if e.get('user') == HOG],
                         ['user_session_limit'] * 2)
        first.send('exit 0\r')
        self.assertEqual(first.wait(20), 0)


if __name__ == '__main__':
    h.in_private_mount_ns()
    unittest.main(verbosity=2)
