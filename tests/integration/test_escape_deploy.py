"""Issue 10, items 2 and 5: nothing of the user's runs before the shim, and
fail=closed ends logins that cannot be recorded. The real sshd with the
shipped conf/sshd_config.d/sessrec.conf, the shipped PAM line's arguments
(groups=recorded) and users enrolled exactly as README says (`sessrecctl
enroll`: sessrec-shell becomes their login shell). /etc is an overlay in a
private mount namespace, so accounts, /etc/shells and /etc/sessrec change
for this test only.

- ~/.bash_profile, ~/.bashrc, BASH_ENV and `exec` tricks: every marker the
  client saw is in the session's recording; ~/.ssh/environment and
  ~/.ssh/rc never run (PermitUserEnvironment no, PermitUserRC no);
- with PermitUserRC left on (a user outside the Match block), sshd's rc run
  through the shim is refused without spending the token: the login is
  recorded; an unrecorded user's rc runs (so the refusal is the shim's);
- a recorded user not enrolled: deployment_error (fail=open: let in;
  fail=closed: refused with one line);
- fail=closed: a login that never attaches (ssh -N) is ended by the daemon
  after TokenTimeoutSec= with session_terminated reason=unattached (under
  fail=open it goes on); a login whose recording fails (shard tmpfs full) is
  ended with session_terminated reason=recording_failed."""
import os
import pwd
import re
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
import pamharness as ph  # noqa: E402
from test_loss_disk import fill  # noqa: E402

EVIL, RC, FREE, CLOSED, PLAIN, ZSH = 'srd-evil', 'srd-rc', 'srd-free', 'srd-closed', 'srd-plain', 'srd-zsh'
ZSH_PATH = '/usr/bin/zsh'  # scripts/deps installs it
GROUP = 'recorded'
NOT_ENROLLED = b'Session recording is not set up for this account; login refused.\r\n'
# Printed by the user's files if they ever run; the client's view is checked against the recording.
MARKERS = [b'HIDDEN-PROFILE', b'HIDDEN-BASHRC', b'HIDDEN-BASHENV', b'HIDDEN-SSHENV', b'HIDDEN-RC', b'HIDDEN-EXEC',
           b'HIDDEN-ZSHENV']
D = T = KEYS = SINK = SSHD = CONF = SHIM = None
ENROLLED = ''


def overlay_etc(tmp):
    """/etc as an overlay whose changes land in tmp (this namespace only)."""
    up, work = os.path.join(tmp, 'etc-up'), os.path.join(tmp, 'etc-work')
    os.makedirs(up)
    os.makedirs(work)
    if os.environ.get('SESSREC_IN_MOUNT_NS') != '1':
        raise RuntimeError('refusing to cover /etc outside a private mount namespace')
    subprocess.run(['mount', '-t', 'overlay', 'overlay', '-o',
                    'lowerdir=/etc,upperdir=%s,workdir=%s' % (up, work), '/etc'], check=True)


def lines(**over):
    """The shipped line (groups=recorded fail=open) plus RC, recorded
    by name (outside the Match block); CLOSED under fail=closed."""
    args = dict(socket=D.sock, config=CONF, timeout_ms=1000)
    args.update(over)
    main = ph.module_line(users=RC, groups=GROUP, exclude_users=CLOSED, fail='open', **args)
    closed = ph.module_line(users=CLOSED, fail='closed', **args)
    return main + '\n' + closed


def write(path, text, pw, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    os.chown(os.path.dirname(path), pw.pw_uid, pw.pw_gid)
    with open(path, 'w') as f:
        f.write(text)
    os.chown(path, pw.pw_uid, pw.pw_gid)
    os.chmod(path, mode)


def hostile_home(pw):
    """The user's own files, each printing a marker when run."""
    home = pw.pw_dir
    write(os.path.join(home, '.bash_profile'),
          "PS1='%s'\nunset PROMPT_COMMAND\nHISTFILE=/dev/null\necho HIDDEN-PROFILE\n. ~/.bashrc\n" % ph.PROMPT, pw)
    write(os.path.join(home, '.bashrc'), 'echo HIDDEN-BASHRC\n', pw)
    write(os.path.join(home, '.bashenv'), 'echo HIDDEN-BASHENV\n', pw)
    write(os.path.join(home, '.ssh', 'environment'),
          'BASH_ENV=%s/.bashenv\nSRD_ENV=HIDDEN-SSHENV\nLD_PRELOAD=/nonexistent/evil.so\n' % home, pw, 0o600)
    write(os.path.join(home, '.ssh', 'rc'), 'echo HIDDEN-RC\ntouch %s/rc-ran\n' % home, pw, 0o755)
    write(os.path.join(home, '.zshenv'), 'echo HIDDEN-ZSHENV\n', pw)
    write(os.path.join(home, '.zshrc'), "PS1='%s'\nunsetopt zle\n" % ph.PROMPT, pw)
    rc_ran = os.path.join(home, 'rc-ran')
    if os.path.exists(rc_ran):
        os.unlink(rc_ran)


def setUpModule():
    global D, T, KEYS, SINK, SSHD, CONF, SHIM, ENROLLED
    T = h.tmpdir('srdeploy-')
    overlay_etc(T)
    D = h.Daemon({'Daemon': {'TokenTimeoutSec': '3'}})
    KEYS = ph.Keys(T)
    SHIM = h.binary('sessrec-shell')
    subprocess.run(['groupadd', '-f', GROUP], check=True)
    for u in (EVIL, RC, FREE, CLOSED, PLAIN, ZSH):
        pw = ph.ensure_user(u, ZSH_PATH if u == ZSH else '/bin/bash', KEYS)
        hostile_home(pw)
    for u in (EVIL, PLAIN, ZSH):
        subprocess.run(['usermod', '-aG', GROUP, u], check=True)
    # README, "Deploying": enroll the recorded users.
    r = subprocess.run([h.binary('sessrecctl'), 'enroll', '--shim', SHIM, EVIL, RC, FREE, CLOSED, ZSH],
                       capture_output=True, text=True)
    if r.returncode:
        raise RuntimeError('sessrecctl enroll: %s%s' % (r.stdout, r.stderr))
    ENROLLED = r.stdout
    SINK = ph.SyslogSink(T)
    CONF = ph.module_config(T, SINK)
    with open(os.path.join(h.SRC, 'conf', 'sshd_config.d', 'sessrec.conf')) as f:
        shipped = f.read()
    SSHD = ph.Sshd(T, KEYS, lines(), [], extra=shipped)


def tearDownModule():
    ph.tear_down(SSHD, D, T)


def recorded_output(d, sid):
    d.wait_end(sid)
    return h.channel_bytes(d.lines(), sid)


class EnrollTest(unittest.TestCase):
    def test_enroll_output_and_files(self):
        for u in (EVIL, RC, FREE, CLOSED, ZSH):
            real = ZSH_PATH if u == ZSH else '/bin/bash'
            self.assertIn('%s: login shell %s -> %s (the real shell is kept in '
                          '/etc/sessrec/shells.d/%s)\n' % (u, real, SHIM, u), ENROLLED)
            self.assertEqual(pwd.getpwnam(u).pw_shell, SHIM)
            with open('/etc/sessrec/shells.d/' + u) as f:
                self.assertEqual(f.read(), real + '\n')
        self.assertTrue(ENROLLED.startswith('%s added to /etc/shells\n' % SHIM), ENROLLED)
        with open('/etc/shells') as f:
            self.assertEqual([l for l in f.read().splitlines() if l == SHIM], [SHIM])

    def test_unenroll_and_again(self):
        ctl = h.binary('sessrecctl')
        name = 'srd-tmp'
        ph.ensure_user(name, '/bin/sh')
        r = subprocess.run([ctl, 'enroll', '--shim', SHIM, name], capture_output=True, text=True)
        self.assertEqual((r.returncode, r.stdout, r.stderr), (0, '%s: login shell /bin/sh -> %s (the real shell is '
                                                               'kept in /etc/sessrec/shells.d/%s)\n'
                                                               % (name, SHIM, name), ''))
        r = subprocess.run([ctl, 'enroll', '--shim', SHIM, name], capture_output=True, text=True)
        self.assertEqual((r.returncode, r.stdout), (0, '%s: already enrolled (login shell %s)\n' % (name, SHIM)))
        r = subprocess.run([ctl, 'unenroll', name], capture_output=True, text=True)
        self.assertEqual((r.returncode, r.stdout, r.stderr), (0, '%s: login shell %s -> /bin/sh\n' % (name, SHIM), ''))
        self.assertEqual(pwd.getpwnam(name).pw_shell, '/bin/sh')
        self.assertFalse(os.path.exists('/etc/sessrec/shells.d/' + name))
        r = subprocess.run([ctl, 'unenroll', name], capture_output=True, text=True)
        self.assertEqual(r.returncode, 1)
        r = subprocess.run([ctl, 'enroll', '--shim', SHIM, 'srd-nosuchuser'], capture_output=True, text=True)
        self.assertEqual((r.returncode, r.stdout, r.stderr),
                         (1, '', 'sessrecctl: enroll: srd-nosuchuser: no such user\n'))


class HiddenShellTest(unittest.TestCase):
    def login(self, user, *cmd):
        p = SSHD.login(user, *cmd)
        self.addCleanup(p.finish)
        return p

    def check_markers(self, out, rec):
        for m in MARKERS:
            if m in out:
                self.assertIn(m, rec, '%r reached the client but not the recording' % m)

    def test_interactive_login(self):
        p = self.login(EVIL)
        p.expect(h.PROMPT_RX, 20)
        p.send('echo "[${SRD_ENV:-noenv}][${LD_PRELOAD:-nopreload}][$SESSREC_SID]"; exit 7\r')
        m = p.expect(rb'\[noenv\]\[nopreload\]\[([0-9a-f-]{36})\]')
        self.assertEqual(p.wait(20), 7)
        sid = m.group(1).decode()
        rec = recorded_output(D, sid)
        # the user's login files ran, after the attach: seen and recorded
        for marker in (b'HIDDEN-PROFILE', b'HIDDEN-BASHRC'):
            self.assertIn(marker, p.out)
        self.check_markers(p.out, rec)
        # sshd ran neither ~/.ssh/environment nor ~/.ssh/rc
        for marker in (b'HIDDEN-SSHENV', b'HIDDEN-RC', b'HIDDEN-BASHENV'):
            self.assertNotIn(marker, p.out)
        self.assertFalse(os.path.exists(os.path.join(pwd.getpwnam(EVIL).pw_dir, 'rc-ran')))

    def test_zsh_login(self):
        """zsh reads ~/.zshenv for every shell, even `zsh -c`: as the real
        shell behind the shim, only on the recorded terminal."""
        p = self.login(ZSH)
        p.expect(h.PROMPT_RX, 20)
        p.send('echo "[$0][$SESSREC_SID]"; exit 6\r')
        m = p.expect(rb'\[(-zsh)\]\[([0-9a-f-]{36})\]')
        self.assertEqual(p.wait(20), 6)
        self.assertIn(b'HIDDEN-ZSHENV', p.out)
        self.check_markers(p.out, recorded_output(D, m.group(2).decode()))

    def test_exec_tricks(self):
        home = pwd.getpwnam(EVIL).pw_dir
        for cmd in ('exec /bin/bash --norc --noprofile -c "echo HIDDEN-EXEC; exit 3"',
                    'BASH_ENV=%s/.bashenv exec /bin/bash -c "exit 3"' % home,
                    'exec env -i /bin/sh -c "echo HIDDEN-EXEC; exit 3"'):
            with self.subTest(cmd=cmd):
                p = self.login(EVIL, cmd)
                self.assertEqual(p.wait(20), 3)
                seen = [mk for mk in MARKERS if mk in p.out]
                self.assertTrue(seen, 'no marker at all: %r' % p.out)
                for mk in seen:
                    self.assertTrue(h.wait_for(lambda: h.sids_with_output(D.lines(), mk), 5),
                                    '%r reached the client but no recording' % mk)

    def test_rc_through_the_shim(self):
        """PermitUserRC on (RC is outside the Match block): sshd runs
        ~/.ssh/rc as `sessrec-shell -c '/bin/sh .ssh/rc'`; the shim refuses
        it and the login is still recorded (its token not spent)."""
        p = self.login(RC)
        p.expect(h.PROMPT_RX, 20)
        p.send('echo "[$SESSREC_SID]"; exit 5\r')
        m = p.expect(rb'\[([0-9a-f-]{36})\]')
        self.assertEqual(p.wait(20), 5)
        self.assertNotIn(b'HIDDEN-RC', p.out)
        self.assertFalse(os.path.exists(os.path.join(pwd.getpwnam(RC).pw_dir, 'rc-ran')))
        sid = m.group(1).decode()
        self.assertTrue(D.wait_event('session_started', sid=sid))
        self.assertIn(b'HIDDEN-BASHRC', recorded_output(D, sid))
        self.assertEqual(D.events('attach_refused', sid=sid), [])

    def test_rc_of_unrecorded_user_runs(self):
        """The same sshd runs rc for a user PAM does not record: the shim
        without a token runs it (so the refusal above is the shim's)."""
        p = self.login(FREE)
        p.expect(h.PROMPT_RX, 20)
        p.send('echo "[${SESSREC_SID:-unrecorded}]"; exit 0\r')
        p.expect(rb'\[unrecorded\]')
        self.assertEqual(p.wait(20), 0)
        self.assertIn(b'HIDDEN-RC', p.out)
        self.assertTrue(os.path.exists(os.path.join(pwd.getpwnam(FREE).pw_dir, 'rc-ran')))


class DeploymentErrorTest(unittest.TestCase):
    def test_not_enrolled(self):
        # fail=open: in, with the alert
        p = SSHD.login(PLAIN)
        self.addCleanup(p.finish)
        p.expect(h.PROMPT_RX, 20)
        ev = SINK.wait('deployment_error', lambda e: e['sd']['relay@55555'].get('user') == PLAIN)
        self.assertTrue(ev, SINK.read()[-1000:])
        sd = ev[0]['sd']['relay@55555']
        self.assertEqual((sd.get('reason'), sd.get('error')), ('shell_not_shim', '/bin/bash'))
        p.send('exit 0\r')
        self.assertEqual(p.wait(20), 0)
        # fail=closed: refused with one line
        self.addCleanup(SSHD.pam.set, lines())
        SSHD.pam.set(ph.module_line(users=PLAIN, fail='closed', socket=D.sock, config=CONF))
        q = SSHD.login(PLAIN)
        self.addCleanup(q.finish)
        self.assertEqual(q.wait(20), 254)
        self.assertEqual(q.out, NOT_ENROLLED)


class FailClosedTest(unittest.TestCase):
    def hold(self, user):
        """ssh -N: a login with no shell, so nothing ever attaches."""
        argv = SSHD.client_argv(user, tty=False)
        argv.insert(1, '-N')
        c = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, env=ph.CLIENT_ENV)
        h.register(c.pid, 'ssh -N')
        self.addCleanup(lambda: (c.poll() is None and c.kill(), c.wait(), h.forget(c.pid)))
        return c

    def test_unattached_login_ended(self):
        closed, opened = self.hold(CLOSED), self.hold(EVIL)
        user_is = (lambda u: lambda e: e['sd']['relay@55555'].get('user') == u)
        ev = h.wait_for(lambda: [e for e in D.events('session_terminated') if user_is(CLOSED)(e)], 15)
        self.assertTrue(ev, D.output()[-1500:])
        sd = ev[0]['sd']['relay@55555']
        self.assertEqual(sd.get('reason'), 'unattached')
        self.assertGreaterEqual(int(sd.get('signalled')), 1)
        una = [e for e in D.events('session_unattached', sid=sd['sid'])]
        self.assertEqual([e['sd']['relay@55555'].get('kind') for e in una], ['token_expired'])
        self.assertIsNotNone(h.wait_for(lambda: closed.poll() is not None, 15), 'ssh -N outlived fail=closed')
        # fail=open: alerted, not ended
        self.assertTrue(h.wait_for(lambda: [e for e in D.events('session_unattached') if user_is(EVIL)(e)], 10))
        time.sleep(3)
        self.assertIsNone(opened.poll())
        self.assertEqual([e for e in D.events('session_terminated') if user_is(EVIL)(e)], [])

    def test_recording_failure_ends_login(self):
        d2 = h.Daemon(conf={'Recording': {'MinFreeSpace': '0'}}, start=False)
        self.addCleanup(d2.cleanup)
        os.makedirs(d2.shards)
        subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=256k,mode=0700', 'tmpfs', d2.shards], check=True)
        self.addCleanup(subprocess.run, ['umount', '-l', d2.shards])
        d2.start()
        SSHD.pam.set(lines(socket=d2.sock))
        self.addCleanup(SSHD.pam.set, lines())
        p = SSHD.login(CLOSED)
        self.addCleanup(p.finish)
        p.expect(h.PROMPT_RX, 20)
        p.send('echo "[$SESSREC_SID]"\r')
        sid = p.expect(rb'\[([0-9a-f-]{36})\]').group(1).decode()
        self.assertTrue(d2.wait_event('session_started', sid=sid))
        fill(os.path.join(d2.shards, 'filler'))
        p.send('for i in $(seq 1 200); do echo "line $i $(printf %0200d 0)"; sleep 0.05; done\r')
        self.assertIsNotNone(p.wait(30), 'the login outlived its failed recording')
        # (a torn write cut back can give room for a moment: degraded more than once)
        self.assertTrue(d2.wait_event('recording_degraded', sid=sid), d2.output()[-1500:])
        term = d2.wait_event('session_terminated', sid=sid)
        self.assertEqual([e['sd']['relay@55555'].get('reason') for e in term], ['recording_failed'])
        self.assertNotIn(b'line 200 ', p.out)


if __name__ == '__main__':
    h.in_private_mount_ns()
    unittest.main(verbosity=2)
