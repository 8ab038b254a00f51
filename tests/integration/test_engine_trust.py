"""Trust (docs/architecture.md, "Trust boundaries"): attach is refused for a
wrong uid, a spent token, a tty that is not the attacher's controlling tty, a
process outside the session's tree, an expired token; root-only ops are
refused to other uids. Each refusal is checked beside a control that differs
only in the one thing being tested, so a broken attach cannot pass."""
import json
import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

# Runs on its own pty (its controlling tty, as session leader: a login),
# possibly as another uid: attaches with [outer] and prints each reply on
# one line. An accepted attach hangs the pty up and hands back the inner
# slave: from then on the helper speaks there, through the daemon, as a
# shell would. 'master' sends a pty master of its own as well (a decoy),
# then attaches properly with the same token; 'twice' attaches twice.
ATTACH = r'''
import json, os, signal, socket, sys
sock, token, mode = sys.argv[1:4]
signal.signal(signal.SIGHUP, signal.SIG_IGN)  # the hangup's, as the shim does
outer, out = 0, 1
if mode == 'wrongtty':
    other_m, other_s = os.openpty()
    outer = other_s
sends = {'twice': [[outer], [outer]], 'master': [[outer, os.openpty()[0]], [outer]]}.get(mode, [[outer]])
for fds in sends:
    c = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    c.connect(sock)
    req = {"op": "attach", "token": token, "term": "xterm", "shell": "/bin/sh"}
    socket.send_fds(c, [json.dumps(req).encode()], fds)
    c.settimeout(10)
    r, got, _, _ = socket.recv_fds(c, 65536, 1)
    if got:
        out = got[0]
    os.write(out, b"REPLY " + r + b"\n")
    c.close()
os.write(out, b"HELPER-DONE\n")
'''

# Sends one root-only request from whatever uid it runs as.
REQUEST = r'''
import json, socket, sys
c = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
c.connect(sys.argv[1])
c.send(sys.argv[2].encode())
c.settimeout(10)
print("REPLY " + c.recv(65536).decode(), flush=True)
'''


class TrustTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.user = h.test_user()
        cls.d = h.Daemon({'Daemon': {'TokenTimeoutSec': '2'}})

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()

    def attach(self, token, mode='plain', uid=None, gid=None):
        """The helper's replies, in order."""
        p = h.Pty(['/usr/bin/python3', '-c', ATTACH, self.d.sock, token, mode],
                  env=h.ctl_env(), uid=uid, gid=gid, cwd='/')
        self.addCleanup(p.finish)
        p.expect(rb'HELPER-DONE', 15)
        p.wait(10)
        replies = []
        for line in p.out.replace(b'\r', b'').split(b'\n'):
            if line.startswith(b'REPLY '):
                replies.append(json.loads(line[6:]))
        return replies

    def open(self, **kw):
        r = h.open_session(self.d.sock, **kw)
        self.assertTrue(r.get('ok'), 'open: %r' % r)
        return r['sid'], r['token']

    def refused(self, reply, sid, recorded=False):
        self.assertIs(reply.get('ok'), False, 'attach was accepted: %r' % reply)
        self.assertIsInstance(reply.get('error'), str)
        self.assertTrue(reply['error'] and '\n' not in reply['error'], reply)
        ev = self.d.wait_event('attach_refused', sid)
        self.assertTrue(ev, 'no attach_refused event for %s' % sid)
        if not recorded:
            self.assertEqual(h.session_lines(self.d.lines(), sid), [], 'a refused session was recorded')

    def accepted(self, reply, sid):
        self.assertIs(reply.get('ok'), True, 'control attach refused: %r' % reply)
        self.assertEqual(reply.get('sid'), sid)
        h.close_session(self.d.sock, sid)

    def test_wrong_uid(self):
        u = self.user
        # control: token for the test user, attached by the test user
        sid, token = self.open(user=u.pw_name, uid=u.pw_uid)
        self.accepted(self.attach(token, uid=u.pw_uid, gid=u.pw_gid)[0], sid)
        # token issued for root, attached by the test user
        sid, token = self.open()
        self.refused(self.attach(token, uid=u.pw_uid, gid=u.pw_gid)[0], sid)

    def test_spent_token(self):
        sid, token = self.open()
        first, second = self.attach(token, 'twice')
        self.assertIs(first.get('ok'), True, 'first attach: %r' % first)
        self.refused(second, sid, recorded=True)
        h.close_session(self.d.sock, sid)

    def test_decoy_master(self):
        """A pty master of the attacher's own is refused with one line, an
        attach_refused naming the session, and the token unspent: the real
        attach that follows is accepted and recorded."""
        sid, token = self.open()
        decoy, real = self.attach(token, 'master')
        self.assertIs(decoy.get('ok'), False, 'decoy accepted: %r' % decoy)
        self.assertEqual(decoy.get('error'),
                         'attach: sessrecd makes the inner pty itself; send only the terminal (1 fd), no pty master')
        ev = self.d.wait_event('attach_refused', sid)
        self.assertEqual(len(ev), 1)
        self.assertIs(real.get('ok'), True, 'the real attach after a decoy: %r' % real)
        self.assertTrue(h.wait_for(lambda: h.sids_with_output(self.d.lines(), b'HELPER-DONE') == [sid], 10),
                        'the real attach was not recorded')
        h.close_session(self.d.sock, sid)

    def test_wrong_tty(self):
        sid, token = self.open()
        self.accepted(self.attach(token, 'plain')[0], sid)
        sid, token = self.open()
        self.refused(self.attach(token, 'wrongtty')[0], sid)

    def test_not_in_the_session_tree(self):
        # The token names a pid the attacher does not descend from.
        other = subprocess.Popen(['sleep', '30'])
        self.addCleanup(other.wait)
        self.addCleanup(other.kill)
        sid, token = self.open(pid=other.pid)
        self.refused(self.attach(token)[0], sid)

    def test_expired_token(self):
        sid, token = self.open()
        time.sleep(3.5)  # TokenTimeoutSec=2
        self.refused(self.attach(token)[0], sid)

    def as_user(self, req):
        u = self.user
        p = h.Pty(['/usr/bin/python3', '-c', REQUEST, self.d.sock, json.dumps(req)],
                  env=h.ctl_env(), uid=u.pw_uid, gid=u.pw_gid, cwd='/')
        self.addCleanup(p.finish)
        m = p.expect(rb'REPLY (.*)\r\n', 15)
        return json.loads(m.group(1))

    def test_root_only_ops(self):
        u = self.user
        sid, _ = self.open()  # a live registration another uid must not touch
        for req in ({'op': 'open', 'user': u.pw_name, 'uid': u.pw_uid, 'service': 'sshd', 'pid': os.getpid()},
                    {'op': 'list'},
                    {'op': 'close', 'sid': sid}):
            reply = self.as_user(req)
            self.assertIs(reply.get('ok'), False, '%s from uid %d: %r' % (req['op'], u.pw_uid, reply))
            self.assertNotIn('token', reply)
            self.assertNotIn('sessions', reply)
        listed = h.call(self.d.sock, {'op': 'list'})
        self.assertIn(sid, json.dumps(listed.get('sessions')), 'close from another uid took effect: %r' % listed)
        self.assertEqual(h.close_session(self.d.sock, sid).get('state'), 'unattached')
        # and ping is for everyone
        self.assertIs(self.as_user({'op': 'ping'}).get('ok'), True)


if __name__ == '__main__':
    unittest.main(verbosity=2)
