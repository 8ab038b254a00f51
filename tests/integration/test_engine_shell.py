"""Interactive logins through sessrec-shell with a real bash on real ptys: the
test plays sshd's part (outer pty, token from `open` as root, the shim as
session leader or forked by `dash -c` as for a dash user) and checks what the
user sees and what the shard holds."""
import hashlib
import os
import re
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

SECRET = 'hunter2-Sekr1t'
D = None
HOME = None
FLAGS = None


def setUpModule():
    global D, HOME, FLAGS
    D = h.Daemon()
    HOME = h.make_home(D.tmp)
    FLAGS = os.path.join(D.tmp, 'flags')
    os.mkdir(FLAGS)
    os.chmod(FLAGS, 0o1777)


def tearDownModule():
    if D:
        D.cleanup()


class ShellBase:
    MODE = None  # 'leader' or 'dash'
    AS_USER = False  # the test user instead of root

    def setUp(self):
        if self.AS_USER:
            pw = h.test_user()
            self.user, self.uid, self.gid = pw.pw_name, pw.pw_uid, pw.pw_gid
        else:
            self.user, self.uid, self.gid = 'root', 0, 0

    def login(self, rows=24, cols=80):
        """open (as pam_sessrec does in sshd's monitor), then the shim on a
        fresh outer pty; returns (pty, sid) once bash shows its prompt."""
        r = h.open_session(D.sock, user=self.user, uid=self.uid)
        self.assertTrue(r.get('ok'), 'open refused: %r' % r)
        sid, token = r['sid'], r['token']
        self.assertRegex(sid, r'^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$')
        env = h.shell_env(HOME, D.sock, token=token, sid=sid, user=self.user)
        shim = h.binary('sessrec-shell')
        ids = dict(uid=self.uid, gid=self.gid) if self.AS_USER else {}
        if self.MODE == 'leader':
            # sessrec-shell as the login shell: sshd execs "-sessrec-shell".
            p = h.Pty(['-sessrec-shell'], env=env, rows=rows, cols=cols, exe=shim, cwd=HOME, **ids)
        else:
            # ForceCommand for a dash user: sshd runs `dash -c sessrec-shell`.
            p = h.Pty(['dash', '-c', shim], env=env, rows=rows, cols=cols, exe='/bin/dash', cwd=HOME, **ids)
        self.addCleanup(p.finish)
        p.expect(h.PROMPT_RX, 10)
        return p, sid

    def logout(self, p, sid, status=0):
        p.send('exit %d\r' % status)
        st = p.wait(15)
        self.assertEqual(st, status, 'exit status of the login (terminal: %r)' % p.out[-300:])
        r = h.close_session(D.sock, sid)
        self.assertTrue(r.get('ok'), 'close: %r' % r)
        return r

    def recording(self, sid):
        lines = D.lines()
        h.check_shard_sane(self, lines)
        return lines, h.session_lines(lines, sid)

    def test_prompt_echo_exit_status_and_recording(self):
        p, sid = self.login()
        self.assertNotIn(b'sessrec:', p.out, 'the shim said something on a working login')
        p.send("echo hel''lo-$((6*7))\r")
        p.expect(re.escape(b"echo hel''lo-$((6*7))\r\n"))   # echoed once, by the inner tty
        p.expect(rb'hello-42\r\n')
        p.expect(h.PROMPT_RX)
        p.send('tty\r')
        inner = p.expect(rb'(/dev/pts/\d+)\r\n').group(1).decode()
        self.assertNotEqual(inner, p.slave_name, 'the shell still runs on the outer tty')
        p.expect(h.PROMPT_RX)
        r = self.logout(p, sid, 7)
        self.assertEqual(r.get('state'), 'recorded', 'close reply: %r' % r)
        lines, mine = self.recording(sid)
        hdrs = [o for o in mine if 'hdr' in o]
        self.assertEqual(len(hdrs), 1, 'one header per session')
        hdr, meta = hdrs[0]['hdr'], hdrs[0].get('meta', {})
        self.assertEqual(hdr.get('version'), 2)
        self.assertEqual((hdr.get('width'), hdr.get('height')), (80, 24))
        self.assertEqual(hdr.get('env', {}).get('TERM'), 'xterm')
        self.assertEqual(hdr.get('env', {}).get('SHELL'), '/bin/bash')
        self.assertEqual(meta.get('user'), self.user)
        self.assertEqual(meta.get('uid'), self.uid)
        self.assertEqual(meta.get('service'), 'sshd')
        self.assertEqual(meta.get('src_ip'), '127.0.0.1')
        self.assertIs(mine[0], hdrs[0], 'the header is the session\'s first line')
        self.assertIn('end', mine[-1], 'the end line is the session\'s last line')
        # Everything the terminal showed came through the recorder, and
        # nothing else: no doubled echo from the outer tty, no lost byte.
        self.assertEqual(h.channel_bytes(lines, sid, 'o'), p.out)
        self.assertEqual(h.channel_bytes(lines, sid, 'i'),
                         b"echo hel''lo-$((6*7))\rtty\rexit 7\r")
        ts = [o['t'] for o in mine if 't' in o]
        self.assertEqual(ts, sorted(ts), 'event times go backwards')
        started = D.wait_event('session_started', sid)
        recorded = D.wait_event('session_recorded', sid)
        self.assertEqual(len(started), 1, 'session_started events: %r' % started)
        self.assertEqual(len(recorded), 1, 'session_recorded events: %r' % recorded)
        sd = recorded[0]['sd']['relay@55555']
        self.assertEqual(sd.get('service'), 'ssh')
        self.assertEqual(sd.get('src_ip'), '127.0.0.1')

    def test_job_control(self):
        p, sid = self.login()
        p.send('sleep 30 &\r')
        p.expect(rb'\[1\] \d+\r\n')
        p.expect(h.PROMPT_RX)
        p.send('jobs\r')
        p.expect(rb'\[1\]\+\s+Running\s+sleep 30 &\r\n')
        p.expect(h.PROMPT_RX)
        p.send('fg\r')
        p.expect(rb'fg\r\nsleep 30\r\n')
        time.sleep(0.3)
        p.send('\x03')
        p.expect(rb'\^C')
        p.expect(h.PROMPT_RX)
        p.send('echo rc=$?\r')
        p.expect(rb'rc=130\r\n')
        p.expect(h.PROMPT_RX)
        p.send('sleep 31\r')
        time.sleep(0.5)
        p.send('\x1a')
        p.expect(rb'\^Z')
        p.expect(rb'\[1\]\+\s+Stopped\s+sleep 31\r\n')
        p.expect(h.PROMPT_RX)
        p.send('jobs\r')
        p.expect(rb'\[1\]\+\s+Stopped\s+sleep 31\r\n')
        p.expect(h.PROMPT_RX)
        p.send('fg %1\r')
        p.expect(rb'sleep 31\r\n')
        time.sleep(0.3)
        p.send('\x03')
        p.expect(h.PROMPT_RX)
        p.send('echo rc=$?; jobs; echo jobs-done\r')
        m = p.expect(rb'rc=130\r\n(.*?)jobs-done\r\n')
        self.assertEqual(m.group(1), b'', 'jobs left over: %r' % m.group(1))
        p.expect(h.PROMPT_RX)
        for warning in (b'no job control', b'cannot set terminal process group',
                        b'Inappropriate ioctl'):
            self.assertNotIn(warning, p.out)
        self.logout(p, sid, 0)

    def test_resize_reaches_the_shell_and_is_recorded(self):
        p, sid = self.login()
        p.send('stty size\r')
        p.expect(rb'\r\n24 80\r\n')
        p.expect(h.PROMPT_RX)
        p.resize(33, 101)
        time.sleep(0.6)  # DESIGN: a change reaches the shell within 250 ms
        p.send('stty size\r')
        p.expect(rb'\r\n33 101\r\n')
        p.expect(h.PROMPT_RX)
        self.logout(p, sid, 0)
        _, mine = self.recording(sid)
        rs = [o for o in mine if o.get('ch') == 'r']
        self.assertEqual([o.get('d') for o in rs], ['101x33'], 'resize events: %r' % rs)
        self.assertEqual(mine[-1].get('end', {}).get('resizes'), 1, 'end: %r' % mine[-1])

    def test_secret_is_withheld(self):
        p, sid = self.login()
        p.send("read -s -p 'PW: ' pw; echo; echo got=${#pw}\r")
        p.expect(rb'PW: ')
        time.sleep(0.2)
        p.send(SECRET + '\r')
        p.expect(rb'got=%d\r\n' % len(SECRET))
        p.expect(h.PROMPT_RX)
        # The shell got exactly the secret (shown by its digest, never itself).
        p.send('echo after; printf %s "$pw" | md5sum\r')
        p.expect(rb'after\r\n%s  -\r\n' % hashlib.md5(SECRET.encode()).hexdigest().encode())
        p.expect(h.PROMPT_RX)
        self.logout(p, sid, 0)
        lines, mine = self.recording(sid)
        self.assertNotIn(SECRET.encode(), p.out, 'the secret was echoed')
        typed = h.channel_bytes(lines, sid, 'i')
        self.assertIn(b'echo after; printf %s "$pw" | md5sum\r', typed, 'ordinary input is recorded')
        for raw, obj in lines:
            self.assertNotIn(SECRET.encode(), raw)
            self.assertNotIn(b'hunter2', raw)
            if obj and ('d' in obj or 'raw' in obj):
                self.assertNotIn(b'hunter2', h.event_bytes(obj), 'secret in %r' % raw)
        marks = [o for o in mine if o.get('ch') == 'm']
        self.assertTrue(marks, 'no marker for the withheld input')
        self.assertTrue(any(str(len(SECRET)) in o.get('d', '') or str(len(SECRET) + 1) in o.get('d', '')
                            for o in marks), 'the marker does not say how many bytes: %r' % marks)
        self.assertIn(mine[-1].get('end', {}).get('withheld'), (len(SECRET), len(SECRET) + 1), mine[-1])

    def test_client_hangup(self):
        p, sid = self.login()
        flag = os.path.join(FLAGS, 'hup-%s' % sid)
        p.send('echo shell=$$\r')
        shell = int(p.expect(rb'shell=(\d+)\r\n').group(1))
        p.expect(h.PROMPT_RX)
        # A foreground job that notes the SIGHUP the session gets.
        p.send("sh -c 'trap \"echo HUP > %s; exit 0\" HUP; echo armed; while :; do sleep 0.1; done'\r" % flag)
        p.expect(rb'armed\r\n')
        p.hangup()
        self.assertTrue(h.wait_for(lambda: h.read_text(flag) == 'HUP\n', 5),
                        'the session got no SIGHUP when the client went away')
        self.assertTrue(h.wait_for(lambda: not h.alive(shell), 5), 'the shell outlived the hangup')
        self.assertIsNotNone(p.wait(10), 'the login did not end after the hangup')
        end = D.wait_end(sid, 10)
        self.assertIsNotNone(end, 'no end line after the hangup')
        self.assertEqual(end['end'].get('reason'), 'hangup', 'end: %r' % end)
        r = h.close_session(D.sock, sid)
        self.assertTrue(r.get('ok'), 'close after hangup: %r' % r)
        self.assertEqual(len(D.wait_event('session_recorded', sid)), 1)

    def test_user_side_holds_only_the_inner_slave(self):
        p, sid = self.login()
        p.send('echo pid=$$ tty=$(tty)\r')
        m = p.expect(rb'pid=(\d+) tty=(/dev/pts/\d+)\r\n')
        pid, inner = int(m.group(1)), m.group(2).decode()
        p.expect(h.PROMPT_RX)
        fds = h.fd_targets(pid)
        self.assertTrue(fds, 'cannot see the shell\'s fds')
        for fd, target in fds.items():
            self.assertEqual(target, inner, 'the shell holds fd %d -> %s besides the inner slave %s (outer %s)'
                             % (fd, target, inner, p.slave_name))
        with open('/proc/%d/environ' % pid, 'rb') as f:
            env = f.read()
        self.assertNotIn(b'SESSREC_TOKEN=', env, 'the spent token is still in the shell\'s environment')
        self.assertIn(b'SESSREC_SID=' + sid.encode(), env, 'the shell lost SESSREC_SID')
        for plumbing in (b'SESSREC_FAIL=', b'SESSREC_QUIET=', b'SESSREC_SOCKET=', b'SESSREC_TIMEOUT_MS='):
            self.assertNotIn(plumbing, env, 'the shell inherited %r' % plumbing)
        self.logout(p, sid, 0)


class LeaderShellTest(ShellBase, unittest.TestCase):
    MODE = 'leader'


class DashForkedShellTest(ShellBase, unittest.TestCase):
    MODE = 'dash'


class UserShellTest(ShellBase, unittest.TestCase):
    MODE = 'leader'
    AS_USER = True


class UserDashForkedShellTest(ShellBase, unittest.TestCase):
    MODE = 'dash'
    AS_USER = True


if __name__ == '__main__':
    unittest.main(verbosity=2)
