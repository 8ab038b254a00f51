"""pam_sessrec with the real sshd (Debian openssh-server) and the real ssh
client: the module's line in a test copy of /etc/pam.d/sshd, sessrec-shell
as ForceCommand, a private sessrecd. Checks what users see and what is
recorded: interactive bash and dash logins byte-for-byte with their meta,
job control and resize, exit status; an unselected user untouched;
commands, scp and sftp; a killed client; the daemon stopped or stuck
(fail=open, fail=closed); dry_run; tokens that must not work. Everything
runs in a private mount namespace: the machine's files are never changed."""
import os
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
import pamharness as ph  # noqa: E402

BASH, DASH, PLAIN, TOK, DRY = 'srp-bash', 'srp-dash', 'srp-plain', 'srp-tok', 'srp-dry'
USERS = {BASH: '/bin/bash', DASH: '/bin/dash', PLAIN: '/bin/bash', TOK: '/bin/bash', DRY: '/bin/bash'}
REFUSED = b'Session recording is unavailable; login refused.\r\n'
D = T = KEYS = SINK = SSHD = CONF = None

# Run by a user inside (or outside) a session: tries to attach with a token.
PROBE = r'''
import json, os, socket, sys
m, s = os.openpty()
c = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
c.connect(sys.argv[1])
socket.send_fds(c, [json.dumps({'op': 'attach', 'token': sys.argv[2], 'term': 'xterm',
                                'shell': '/bin/sh'}).encode()], [0, m])
r = json.loads(c.recv(4096))
print('PROBE', 'accepted' if r.get('ok') else 'refused:', r.get('error', ''))
'''

# ForceCommand for srp-tok: keeps the token where the test reads it, then
# runs the shim, or (with DIR/escape) the shell without it.
WRAPPER = '''#!/bin/sh
printf '%%s\\n' "$SESSREC_TOKEN" > %(dir)s/token
if [ -e %(dir)s/escape ]; then unset SESSREC_TOKEN; exec /bin/bash -l; fi
exec %(shim)s
'''


def line(**extra):
    """The module lines: the recorded users, and srp-dry with dry_run."""
    args = dict(socket=D.sock, config=CONF, timeout_ms=1000, deploy='forcecommand')
    args.update(extra)
    main = ph.module_line(users=','.join((BASH, DASH, TOK)), **args)
    dry = ph.module_line(users=DRY, dry_run=True, **args)
    return main + '\n' + dry


def setUpModule():
    global D, T, KEYS, SINK, SSHD, CONF
    D = h.Daemon()
    T = h.tmpdir('srpam-')
    KEYS = ph.Keys(T)
    for u, shell in USERS.items():
        ph.ensure_user(u, shell, KEYS)
    SINK = ph.SyslogSink(T)
    CONF = ph.module_config(T, SINK)
    with open(os.path.join(T, 'probe.py'), 'w') as f:
        f.write(PROBE)
    tokdir = os.path.join(T, 'tok')
    os.mkdir(tokdir)
    pw = ph.pwd.getpwnam(TOK)
    os.chown(tokdir, pw.pw_uid, pw.pw_gid)
    wrapper = os.path.join(T, 'tok-wrapper')
    with open(wrapper, 'w') as f:
        f.write(WRAPPER % {'dir': tokdir, 'shim': h.binary('sessrec-shell')})
    os.chmod(wrapper, 0o755)
    SSHD = ph.Sshd(T, KEYS, line(), [BASH, DASH, PLAIN, DRY],
                   extra='Match User %s\n\tForceCommand %s\n' % (TOK, wrapper))


def tearDownModule():
    ph.tear_down(SSHD, D, T)


class Base(unittest.TestCase):
    def tearDown(self):
        SSHD.pam.set(line())
        if not D.running():
            D.start()

    def login(self, user, rows=24, cols=80):
        p = SSHD.login(user, rows=rows, cols=cols)
        self.addCleanup(p.finish)
        p.expect(h.PROMPT_RX, 20)
        return p

    def recorded(self, p, sid):
        """The session ended and its recording is byte-for-byte what the
        client showed."""
        self.assertIsNotNone(D.wait_end(sid, 15), 'no end line for ' + sid)
        lines = D.lines()
        h.check_shard_sane(self, lines)
        self.assertEqual(h.channel_bytes(lines, sid, 'o'), p.out)
        return lines

    def meta(self, sid, user):
        m = ph.check_meta(self, D, sid, user, 'sshd', 'ssh')
        self.assertEqual(m.get('auth'), 'publickey ' + KEYS.pub)
        return m


class Interactive(Base):
    def test_bash(self):
        p = self.login(BASH)
        sid = ph.ask_sid(p)
        p.send('echo hello-$((6*7))\r')
        p.expect(b'hello-42\r\n')
        p.expect(h.PROMPT_RX)
        # Job control: background, fg, ^C, ^Z.
        p.send('sleep 30 &\r')
        p.expect(rb'\[1\] \d+')
        p.expect(h.PROMPT_RX)
        p.send('fg\r')
        p.expect(b'sleep 30')
        ph.job_control(p, 40, 120)
        p.send('exit 7\r')
        self.assertEqual(p.wait(15), 7)
        self.assertNotIn(b'no job control', p.out)
        lines = self.recorded(p, sid)
        self.meta(sid, BASH)
        self.assertIn(b'echo hello-$((6*7))\r', h.channel_bytes(lines, sid, 'i'))
        resizes = [o['d'] for o in h.session_lines(lines, sid) if o.get('ch') == 'r']
        self.assertIn('120x40', resizes)

    def test_dash(self):
        p = self.login(DASH)
        sid = ph.ask_sid(p)
        p.send('echo dash-$((6*7))\r')
        p.expect(b'dash-42\r\n')
        p.expect(h.PROMPT_RX)
        p.send('sleep 30\r')
        time.sleep(0.3)
        p.send('\x03')
        p.expect(h.PROMPT_RX)
        p.send('exit 7\r')
        self.assertEqual(p.wait(15), 7)
        self.recorded(p, sid)
        m = self.meta(sid, DASH)
        self.assertEqual(m.get('uid'), ph.pwd.getpwnam(DASH).pw_uid)

    def test_unselected_user_pays_nothing(self):
        before = len(D.events('session_started'))
        p = self.login(PLAIN)
        p.send('echo "[$SESSREC_SID][$SESSREC_TOKEN]"\r')
        p.expect(rb'\[\]\[\]\r\n')
        p.expect(h.PROMPT_RX)
        p.send('exit 3\r')
        self.assertEqual(p.wait(15), 3)
        self.assertEqual(ph.sids_of_user(D, PLAIN), [])
        self.assertEqual(len(D.events('session_started')), before)
        self.assertEqual([e for e in D.events() if e['sd'].get('relay@55555', {}).get('user') == PLAIN], [])

    def test_client_killed(self):
        ph.check_client_killed(self, D, self.login(BASH))


class Commands(Base):
    def test_command_status_and_log(self):
        r = SSHD.run(BASH, 'echo out; echo err >&2; exit 5')
        self.assertEqual((r.returncode, r.stdout, r.stderr), (5, b'out\n', b'err\n'))
        ev = D.wait_event('session_command', count=1)
        self.assertIn('echo out; echo err >&2; exit 5',
                      [e['sd']['relay@55555'].get('cmd') for e in ev])

    def test_tty_command(self):
        """ssh -tt host cmd: a short command that exits at once, ten times
        (its output racing sshd closing the pty as soon as it exits)."""
        for _ in range(10):
            p = SSHD.login(BASH, 'echo sid=$SESSREC_SID; exit 6')
            self.addCleanup(p.finish)
            self.assertEqual(p.wait(15), 6)
            m = ph.SID_RX.search(p.out)
            self.assertIsNotNone(m, 'the client saw no output: %r' % p.out)
            self.recorded(p, m.group(1).decode())

    def test_output_right_before_exit(self):
        """What the shell prints just before it exits reaches the client
        and the recording: sshd closes the pty as soon as the session's
        process exits, so the relay must be done by then."""
        p = SSHD.login(BASH, 'echo sid=$SESSREC_SID; seq 1 30000; exit 6')
        self.addCleanup(p.finish)
        m = p.expect(ph.SID_RX)
        self.assertEqual(p.wait(20), 6)
        self.assertTrue(p.out.endswith(b'\r\n29999\r\n30000\r\n'), 'the client lost the tail: %r' % p.out[-100:])
        self.recorded(p, m.group(1).decode())

    def test_scp_and_sftp(self):
        data = os.urandom(200000)
        src = os.path.join(T, 'payload.bin')
        with open(src, 'wb') as f:
            f.write(data)
        home = ph.pwd.getpwnam(BASH).pw_dir
        run = os.path.basename(T)  # other test runs may use the same user
        self.addCleanup(lambda: [os.unlink(os.path.join(home, f)) for f in os.listdir(home) if run in f])
        for flag, name in (([], run + '-sftp.bin'), (['-O'], run + '-scp.bin')):
            r = subprocess.run(SSHD.client_argv(BASH, prog='scp') + flag + [src, '%s@127.0.0.1:%s' % (BASH, name)],
                               capture_output=True, env=ph.CLIENT_ENV, timeout=30)
            self.assertEqual(r.returncode, 0, r.stderr)
            with open(os.path.join(home, name), 'rb') as f:
                self.assertEqual(f.read(), data)
            back = os.path.join(T, 'back-' + name)
            r = subprocess.run(SSHD.client_argv(BASH, prog='scp') + flag + ['%s@127.0.0.1:%s' % (BASH, name), back],
                               capture_output=True, env=ph.CLIENT_ENV, timeout=30)
            self.assertEqual(r.returncode, 0, r.stderr)
            with open(back, 'rb') as f:
                self.assertEqual(f.read(), data)
        batch = os.path.join(T, 'sftp.batch')
        with open(batch, 'w') as f:
            f.write('put %s %s-sftp2.bin\nget %s-sftp2.bin %s/back2.bin\nls -l %s-sftp2.bin\n'
                    % (src, run, run, T, run))
        r = subprocess.run(SSHD.client_argv(BASH, prog='sftp') + ['-b', batch, '%s@127.0.0.1' % BASH],
                           capture_output=True, env=ph.CLIENT_ENV, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(os.path.join(T, 'back2.bin'), 'rb') as f:
            self.assertEqual(f.read(), data)
        # A failing transfer reports it.
        r = subprocess.run(SSHD.client_argv(BASH, prog='scp') + ['%s@127.0.0.1:/nonexistent/x' % BASH, T],
                           capture_output=True, env=ph.CLIENT_ENV, timeout=30)
        self.assertNotEqual(r.returncode, 0)
        cmds = [e['sd']['relay@55555'].get('cmd', '') for e in D.events('session_command')]
        self.assertTrue([c for c in cmds if 'sftp-server' in c], cmds)
        self.assertTrue([c for c in cmds if c.startswith('scp ')], cmds)


class Failure(Base):
    def timed_login(self, user):
        t0 = time.monotonic()
        p = self.login(user)
        return p, time.monotonic() - t0

    def test_fail_open_daemon_stopped(self):
        D.stop()
        p, took = self.timed_login(BASH)
        p.send('echo "[$SESSREC_TOKEN]"; exit 4\r')
        p.expect(rb'\[\]\r\n')
        self.assertEqual(p.wait(15), 4)
        ev = SINK.wait('session_skipped', lambda e: e['sd']['relay@55555'].get('user') == BASH)
        self.assertTrue(ev, 'no session_skipped: ' + SINK.read()[-500:])
        sd = ev[-1]['sd']['relay@55555']
        self.assertEqual((sd['reason'], sd['service'], sd['src_ip']), ('daemon_unreachable', 'ssh', '127.0.0.1'))
        self.assertLess(took, 5.0)

    def test_fail_open_daemon_stuck(self):
        # A daemon that accepts but never answers: the login waits timeout_ms.
        os.kill(D.pid, signal.SIGSTOP)
        try:
            n = len(SINK.events('session_skipped'))
            p, took = self.timed_login(BASH)
        finally:
            os.kill(D.pid, signal.SIGCONT)
        p.send('exit 0\r')
        self.assertEqual(p.wait(15), 0)
        self.assertGreaterEqual(took, 1.0)
        self.assertLess(took, 6.0)
        self.assertTrue(h.wait_for(lambda: len(SINK.events('session_skipped')) > n))

    def test_fail_closed(self):
        D.stop()
        SSHD.pam.set(line(fail='closed'))
        p = SSHD.login(BASH)
        self.addCleanup(p.finish)
        self.assertEqual(p.wait(20), 254)
        self.assertEqual(p.out, REFUSED)
        marker = os.path.join(T, 'ran')
        r = SSHD.run(BASH, 'touch %s' % marker)
        self.assertEqual((r.returncode, r.stdout), (254, REFUSED.replace(b'\r\n', b'\n')))
        self.assertFalse(os.path.exists(marker), 'the command ran')


class DryRun(Base):
    def test_dry_run_records_nothing(self):
        p = self.login(DRY)
        sid = ph.ask_sid(p)
        p.send('echo dry-$((6*7))\r')
        p.expect(b'dry-42\r\n')
        p.send('exit 0\r')
        self.assertEqual(p.wait(15), 0)
        started = D.wait_event('session_started', sid=sid)
        self.assertTrue(started, 'dry run not logged')
        self.assertEqual(started[0]['sd']['relay@55555'].get('dry_run'), 'true')
        self.assertEqual([o for o in h.session_lines(D.lines(), sid) if o.get('ch') == 'o'], [])


class Tokens(Base):
    """Tokens that must not work: spent, another user's, or used from a
    process outside the session. srp-tok's ForceCommand keeps its token."""

    def token(self):
        path = os.path.join(T, 'tok', 'token')
        return h.wait_for(lambda: (h.read_text(path) or '').strip(), 5)

    def probe_in(self, p, token):
        p.send('python3 %s %s %s\r' % (os.path.join(T, 'probe.py'), D.sock, token))
        m = p.expect(rb'PROBE (accepted|refused:)([^\r]*)\r\n')
        p.expect(h.PROMPT_RX)
        return m.group(1).decode(), m.group(2).decode()

    def test_spent_token(self):
        escape = os.path.join(T, 'tok', 'escape')
        if os.path.exists(escape):
            os.unlink(escape)
        p = self.login(TOK)
        sid = ph.ask_sid(p)
        verdict, why = self.probe_in(p, self.token())
        self.assertEqual(verdict, 'refused:', why)
        p.send('exit 0\r')
        self.assertEqual(p.wait(15), 0)
        self.recorded(p, sid)

    def test_foreign_and_outside(self):
        escape = os.path.join(T, 'tok', 'escape')
        open(escape, 'w').close()
        self.addCleanup(os.unlink, escape)
        # srp-tok's shell escapes the shim: its token stays unspent.
        esc = self.login(TOK)
        tok_sid = ph.ask_sid(esc)
        token = self.token()
        # Another user, inside a recorded session of their own.
        other = self.login(BASH)
        verdict, why = self.probe_in(other, token)
        self.assertEqual(verdict, 'refused:', why)
        other.send('exit 0\r')
        other.wait(15)
        # The right user, outside the session's process tree and terminal.
        pw = ph.pwd.getpwnam(TOK)
        outside = h.Pty(['python3', os.path.join(T, 'probe.py'), D.sock, token],
                        env=ph.CLIENT_ENV, uid=pw.pw_uid, gid=pw.pw_gid, cwd='/')
        self.addCleanup(outside.finish)
        m = outside.expect(rb'PROBE (accepted|refused:)([^\r]*)\r\n')
        self.assertEqual(m.group(1), b'refused:', m.group(2))
        self.assertTrue(D.wait_event('attach_refused', count=2))
        # The escaped shell is reported when PAM closes its session.
        esc.send('exit 0\r')
        self.assertEqual(esc.wait(15), 0)
        self.assertTrue(D.wait_event('session_unattached', sid=tok_sid, timeout=10),
                        'escaped session not reported')


if __name__ == '__main__':
    h.in_private_mount_ns()
    unittest.main(verbosity=2)
