"""20 SSH logins of 20 different users at once through the real sshd,
pam_sessrec and sessrec-shell into one private sessrecd: every session is
recorded byte-for-byte as its client saw it, under its own user, and every
exit status reaches its client. Runs in a private mount namespace."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
import pamharness as ph  # noqa: E402

N = 20
USERS = ['srp-c%02d' % i for i in range(N)]
D = T = SSHD = None


def setUpModule():
    global D, T, SSHD
    D = h.Daemon()
    T = h.tmpdir('srpconc-')
    keys = ph.Keys(T)
    for i, u in enumerate(USERS):
        ph.ensure_user(u, '/bin/dash' if i % 4 == 3 else '/bin/bash', keys)
    line = ph.module_line(socket=D.sock, users=','.join(USERS), timeout_ms=5000, deploy='forcecommand')
    SSHD = ph.Sshd(T, keys, line, USERS)


def tearDownModule():
    ph.tear_down(SSHD, D, T)


class Concurrent(unittest.TestCase):
    def test_twenty_users(self):
        ptys = [SSHD.login(u, rows=24, cols=80 + i) for i, u in enumerate(USERS)]
        for p in ptys:
            self.addCleanup(p.finish)
        ok = h.pump_all(ptys, lambda: all(h.PROMPT.encode() in p.out for p in ptys), 90)
        self.assertTrue(ok, 'not every login showed a prompt: %r'
                        % [u for u, p in zip(USERS, ptys) if h.PROMPT.encode() not in p.out])
        for i, (u, p) in enumerate(zip(USERS, ptys)):
            p.send('echo sid=$SESSREC_SID; i=0; while [ $i -lt 400 ]; do i=$((i+1)); echo "%s line $i"; done; '
                   'exit %d\r' % (u, i + 1))
        h.pump_all(ptys, lambda: all(p.poll() is not None for p in ptys), 120)
        for i, (u, p) in enumerate(zip(USERS, ptys)):
            self.assertEqual(p.wait(15), i + 1, '%s: %r' % (u, p.out[-300:]))
        lines = None
        for u, p in zip(USERS, ptys):
            sids = ph.sids_of_user(D, u)
            self.assertEqual(len(sids), 1, '%s: sessions %r' % (u, sids))
            sid = sids[0]
            end = D.wait_end(sid, 30)
            self.assertIsNotNone(end, 'no end line for %s' % u)
            lines = D.lines()
            rec = h.channel_bytes(lines, sid, 'o')
            self.assertIn(('%s line 400\r\n' % u).encode(), rec[-40:],
                          '%s: the recording lost the tail: %r (%s)' % (u, rec[-60:], end['end']))
            self.assertTrue(rec == p.out, '%s: the client saw %d bytes, ending %r; recorded %d'
                            % (u, len(p.out), p.out[-60:], len(rec)))
            self.assertEqual(ph.header(D, sid)['meta']['user'], u)
        h.check_shard_sane(self, lines)


if __name__ == '__main__':
    h.in_private_mount_ns()
    unittest.main(verbosity=2)
