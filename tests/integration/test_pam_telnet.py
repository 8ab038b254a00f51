"""pam_sessrec in mode=tty with Debian's telnetd (inetutils) and login(1):
telnetd is started per connection by systemd-socket-activate on 127.0.0.1,
login's PAM stack is a test copy of /etc/pam.d/login with the module's
line, and the real telnet client logs in on a pty. The module hands login's
terminal to a private sessrecd itself (no shim): the session is recorded
with meta.proto telnet and the client's address, job control and resize
work, and a hung-up client ends the recording. Runs in a private mount
namespace: the machine's files are never changed."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
import pamharness as ph  # noqa: E402

BASH, DASH, PLAIN = 'srp-tbash', 'srp-tdash', 'srp-tplain'
D = T = SINK = TD = CONF = None


def line(conf, **extra):
    return ph.module_line(socket=D.sock, users='%s,%s' % (BASH, DASH), config=conf, **extra)


def setUpModule():
    global D, T, SINK, TD, CONF
    D = h.Daemon()
    T = h.tmpdir('srtel-')
    for u, shell in ((BASH, '/bin/bash'), (DASH, '/bin/dash'), (PLAIN, '/bin/bash')):
        ph.ensure_user(u, shell, password=True)
    SINK = ph.SyslogSink(T)
    CONF = ph.module_config(T, SINK)
    TD = ph.Telnetd(T, line(CONF))


def tearDownModule():
    ph.tear_down(TD, D, T)


class Telnet(unittest.TestCase):
    def login(self, user, rows=24, cols=80):
        p = TD.login(user, rows, cols)
        self.addCleanup(p.finish)
        return p

    def recorded(self, p, sid):
        """Every recorded output byte reached the client, in order and
        unchanged: the recording is one contiguous piece of its screen
        (the screen also has telnet's banner and the login prompts)."""
        self.assertIsNotNone(D.wait_end(sid, 15), 'no end line for ' + sid)
        lines = D.lines()
        h.check_shard_sane(self, lines)
        out = h.channel_bytes(lines, sid, 'o')
        self.assertIn(h.PROMPT.encode(), out)
        self.assertIn(out, p.out)
        return lines

    def test_bash(self):
        p = self.login(BASH)
        sid = ph.ask_sid(p)
        p.send('echo telnet-$((6*7))\r')
        p.expect(b'telnet-42\r\n')
        p.expect(h.PROMPT_RX)
        p.send('sleep 30\r')
        ph.job_control(p, 30, 100)
        p.send('exit 0\r')
        p.wait(15)
        self.assertNotIn(b'no job control', p.out)
        lines = self.recorded(p, sid)
        ph.check_meta(self, D, sid, BASH, 'login', 'telnet')
        self.assertIn(b'echo telnet-$((6*7))\r', h.channel_bytes(lines, sid, 'i'))
        self.assertIn('100x30', [o['d'] for o in h.session_lines(lines, sid) if o.get('ch') == 'r'])

    def test_dash(self):
        p = self.login(DASH)
        sid = ph.ask_sid(p)
        p.send('echo dash-$((6*7))\r')
        p.expect(b'dash-42\r\n')
        p.expect(h.PROMPT_RX)
        p.send('exit 0\r')
        p.wait(15)
        self.recorded(p, sid)
        ph.check_meta(self, D, sid, DASH, 'login', 'telnet')

    def test_unselected(self):
        p = self.login(PLAIN)
        # Not "echo ...; exit": telnetd may close the connection before it
        # relays a shell's last output (seen under load), recorded or not.
        p.send('echo "[$SESSREC_SID]"\r')
        p.expect(rb'\[\]\r\n')
        p.expect(h.PROMPT_RX)
        p.send('exit 0\r')
        p.wait(15)
        self.assertEqual(ph.sids_of_user(D, PLAIN), [])

    def test_fail_closed(self):
        """The daemon is down: login shows one line and ends; no shell runs."""
        D.stop()
        TD.pam.set(line(CONF, fail='closed'))
        self.addCleanup(D.start)
        self.addCleanup(TD.pam.set, line(CONF))
        p = TD.client()
        self.addCleanup(p.finish)
        p.expect(rb'login: ', 20)
        p.send(BASH + '\r')
        p.expect(rb'Password: ', 20)
        p.send(ph.PASSWORD + '\r')
        p.expect(rb'Session recording is unavailable; login refused\.\r\n', 20)
        p.wait(15)
        self.assertNotIn(h.PROMPT.encode(), p.out)
        ev = SINK.wait('session_skipped', lambda e: e['sd']['relay@55555'].get('user') == BASH)
        self.assertEqual(ev[-1]['sd']['relay@55555'].get('service'), 'telnet')

    def test_hangup(self):
        ph.check_client_killed(self, D, self.login(BASH))


if __name__ == '__main__':
    h.in_private_mount_ns()
    unittest.main(verbosity=2)
