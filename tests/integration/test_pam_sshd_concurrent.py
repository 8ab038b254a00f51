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
    line = ph.module_line(socket=D.sock, users=','.join(USERS), timeout_ms=5000)
    SSHD = ph.Sshd(T, keys, line, USERS)


def tearDownModule():
    if SSHD:
        SSHD.stop()
    if D:
        D.cleanup()


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
        import time; time.sleep(1)
        lines = D.lines()
        for u, p in zip(USERS, ptys):
            sids = [o['sid'] for _, o in lines if o and 'hdr' in o and o['meta']['user'] == u]
            rec = h.channel_bytes(lines, sids[0], 'o') if sids else b''
            end = [o['end'] for o in h.session_lines(lines, sids[0]) if 'end' in o] if sids else None
            if p.out != rec:
                print('DBG', u, p.status, len(p.out), len(rec), end, file=sys.stderr)
        print('DAEMON', [l for l in D.output().splitlines() if 'session_' not in l][-20:], file=sys.stderr)
        lines = None
        for u, p in zip(USERS, ptys):
            m = ph.SID_RX.search(p.out)
            self.assertIsNotNone(m, '%s showed no sid: %r' % (u, p.out[:600]))
            sid = m.group(1).decode()
            self.assertIsNotNone(D.wait_end(sid, 30), 'no end line for %s' % u)
            lines = D.lines()
            self.assertIn(('%s line 400\r\n' % u).encode(), p.out)
            self.assertEqual(h.channel_bytes(lines, sid, 'o'), p.out, u)
            self.assertEqual(ph.header(D, sid)['meta']['user'], u)
        h.check_shard_sane(self, lines)


if __name__ == '__main__':
    h.in_private_mount_ns()
    unittest.main(verbosity=2)
