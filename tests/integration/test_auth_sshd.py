"""Authentications (issue 13) through a real sshd, a real systemd-journald
and pam_sessrec's authfail mode, in a private mount namespace: a wrong
password for an existing user and for a user that does not exist, a
rejected public key and a successful key login each give exactly one
event, in the daemon's syslog output and in auth-YYYY-MM-DD.jsonl, with the
right fields (the key's fingerprint as ssh-keygen -lf prints it); a user
name with quotes, ], a newline and an escape sequence stays one valid
event and prints escaped in `sessrecctl auth`; a restarted daemon reads
sshd's journal on from its cursor: no line twice, none missed while it was
down."""
import json
import os
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
import pamharness as ph  # noqa: E402

JOURNALD = '/lib/systemd/systemd-journald'
PW_USER, KEY_USER, NOSUCH = 'srauth-pw', 'srauth-key', 'srauth-nosuch'
HOSTILE = 'ev"il]\n\x1b[31mx'
D = T = KEYS = SSHD = JD = None


def private_dev_log():
    """/dev/log, in this mount namespace only: a tmpfs over /dev holding
    bind mounts of the real entries sshd, ssh and sessrecd use, and /dev/log
    pointing at journald's syslog socket (sshd logs through syslog(3))."""
    old = h.tmpdir('srauth-dev-')
    subprocess.run(['mount', '--rbind', '/dev', old], check=True)
    h.mount_tmpfs('/dev')
    for name in ('null', 'zero', 'full', 'random', 'urandom', 'tty', 'kmsg', 'console', 'pts', 'shm',
                 'fd', 'stdin', 'stdout', 'stderr'):
        src, dst = os.path.join(old, name), '/dev/' + name
        if os.path.islink(src):
            os.symlink(os.readlink(src), dst)
        elif os.path.isdir(src):
            os.mkdir(dst)
            subprocess.run(['mount', '--rbind', src, dst], check=True)
        elif os.path.exists(src):
            open(dst, 'w').close()
            subprocess.run(['mount', '--bind', src, dst], check=True)
    # the multiplexer of the devpts mounted at /dev/pts (a bound /dev/ptmx
    # would look for pts beside the original)
    os.symlink('pts/ptmx', '/dev/ptmx')
    os.symlink('/run/systemd/journal/dev-log', '/dev/log')


class Sshd:
    """sshd logging through syslog(3) (no -e) to the journal, passwords and
    keys, LogLevel VERBOSE (the key of a rejected publickey is logged)."""

    def __init__(self, tmp, keys, sock):
        self.port = ph.free_port()
        self.conf = os.path.join(tmp, 'sshd_config')
        with open(self.conf, 'w') as f:
            f.write('Port %d\nListenAddress 127.0.0.1\nHostKey %s\nPidFile %s/sshd.pid\nUsePAM yes\n'
                    'PubkeyAuthentication yes\nPasswordAuthentication yes\nKbdInteractiveAuthentication no\n'
                    'AuthorizedKeysFile %s/%%u\nStrictModes no\nPrintMotd no\nLogLevel VERBOSE\n'
                    'MaxStartups 100\nUseDNS no\n' % (self.port, keys.host, tmp, keys.authorized))
        pam = os.path.join(tmp, 'pam.sshd')
        with open(pam, 'w') as f:
            f.write('auth [success=2 default=ignore] pam_unix.so nullok\n'
                    'auth [default=die] %s authfail socket=%s\n'
                    'auth requisite pam_deny.so\nauth required pam_permit.so\n'
                    'account required pam_unix.so\nsession required pam_unix.so\n' % (ph.module(), sock))
        ph.bind_over(pam, '/etc/pam.d/sshd')
        os.makedirs('/run/sshd', mode=0o755, exist_ok=True)
        self.p = subprocess.Popen(['/usr/sbin/sshd', '-D', '-f', self.conf], stdin=subprocess.DEVNULL)
        h.register(self.p.pid, 'sshd')
        ph.wait_port(self.port, self.p)

    def argv(self, user, opts, cmd):
        # -o User= (a configuration value): the client refuses shell
        # metacharacters in a -l name, not in this
        return ['ssh', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR',
                '-p', str(self.port), '-o', 'User=' + user, *opts, '127.0.0.1', cmd]

    def password(self, user, pw):
        """One password attempt on a pty, as a person types it."""
        p = h.Pty(self.argv(user, ['-o', 'PreferredAuthentications=password', '-o', 'PubkeyAuthentication=no',
                                   '-o', 'NumberOfPasswordPrompts=1'], 'true'), env=ph.CLIENT_ENV)
        try:
            p.expect(rb'[Pp]assword:', 20)
            p.send(pw + '\r')
            return p.wait(20)
        finally:
            p.finish()

    def key(self, user, key, cmd='true'):
        return subprocess.run(self.argv(user, ['-i', key, '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes',
                                               '-o', 'PreferredAuthentications=publickey'], cmd),
                              env=ph.CLIENT_ENV, capture_output=True, timeout=30, stdin=subprocess.DEVNULL)

    def stop(self):
        ph._stop(self.p)


def fingerprint(pub):
    return subprocess.run(['ssh-keygen', '-lf', pub], capture_output=True, text=True, check=True).stdout.split()[1]


def setUpModule():
    global D, T, KEYS, SSHD, JD
    if os.environ.get('SESSREC_IN_MOUNT_NS') != '1':
        raise unittest.SkipTest('run as a script: it needs its own mount namespace')
    for d in ('/run/systemd', '/run/log', '/var/log/journal'):
        h.mount_tmpfs(d)
    private_dev_log()
    JD = subprocess.Popen([JOURNALD], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)
    h.register(JD.pid, 'systemd-journald')
    if not h.wait_for(lambda: os.path.exists('/run/systemd/journal/dev-log'), 10):
        raise RuntimeError('systemd-journald created no syslog socket')
    T = h.tmpdir('srauth-')
    KEYS = ph.Keys(T)
    ph.ensure_user(PW_USER, '/bin/bash', password=True)
    ph.ensure_user(KEY_USER, '/bin/bash', KEYS)
    subprocess.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', os.path.join(T, 'stranger')], check=True)
    D = h.Daemon()
    SSHD = Sshd(T, KEYS, D.sock)


def tearDownModule():
    ph.tear_down(SSHD, D, T)
    if JD:
        JD.send_signal(signal.SIGTERM)
        try:
            JD.wait(10)
        except subprocess.TimeoutExpired:
            JD.kill()
            JD.wait()
        h.forget(JD.pid)


def auth_lines():
    out = []
    for name in sorted(os.listdir(D.shards)) if os.path.isdir(D.shards) else []:
        if name.startswith('auth-'):
            with open(os.path.join(D.shards, name), 'rb') as f:
                out += [json.loads(line) for line in f.read().splitlines()]
    return out


def params(e):
    return e['sd']['relay@55555']


class Auth(unittest.TestCase):
    def attempt(self, fn, user, want=1, ok=False, settle=2.0):
        """Runs fn; returns the one new auth event of user and its line."""
        event = 'auth_succeeded' if ok else 'auth_failed'
        ev0 = len([e for e in D.events(event) if params(e).get('user') == user])
        ln0 = len([x for x in auth_lines() if x.get('user') == user])
        fn()
        got = h.wait_for(lambda: (lambda e: e if len(e) >= ev0 + want else None)(
            [e for e in D.events(event) if params(e).get('user') == user]), 10)
        self.assertTrue(got, 'no %s for %r; sshd and daemon said: %s' % (event, user, D.output()[-1500:]))
        time.sleep(settle)  # a duplicate would come within this
        evs = [e for e in D.events(event) if params(e).get('user') == user][ev0:]
        lines = [x for x in auth_lines() if x.get('user') == user][ln0:]
        self.assertEqual(len(evs), want, evs)
        self.assertEqual(len(lines), want, lines)
        self.assertEqual(lines[-1]['event'], event)
        return params(evs[-1]), lines[-1]

    def check_common(self, p, line, user):
        self.assertEqual((p['user'], p['src_ip'], p['service']), (user, '127.0.0.1', 'sshd'))
        self.assertEqual((line['user'], line['src_ip'], line['service']), (user, '127.0.0.1', 'sshd'))
        self.assertEqual(p['src_port'], str(line['src_port']))
        self.assertGreater(line['src_port'], 0)

    def test_wrong_password(self):
        p, line = self.attempt(lambda: self.assertEqual(SSHD.password(PW_USER, 'wrong-pw'), 255), PW_USER,
                               settle=PAIR_SETTLE)
        self.check_common(p, line, PW_USER)
        self.assertEqual((p['method'], p['reason'], p['source']), ('password', 'bad_password', 'pam+journal'))

    def test_wrong_password_no_such_user(self):
        p, line = self.attempt(lambda: SSHD.password(NOSUCH, 'wrong-pw'), NOSUCH, settle=PAIR_SETTLE)
        self.check_common(p, line, NOSUCH)
        self.assertEqual((p['method'], p['reason']), ('password', 'invalid_user'))

    def test_rejected_key(self):
        stranger = os.path.join(T, 'stranger')
        p, line = self.attempt(lambda: self.assertEqual(SSHD.key(KEY_USER, stranger).returncode, 255), KEY_USER)
        self.check_common(p, line, KEY_USER)
        self.assertEqual((p['method'], p['reason'], p['source']), ('publickey', 'key_rejected', 'journal'))
        self.assertEqual((line['key_type'], line['key_fp']), ('ED25519', fingerprint(stranger + '.pub')))

    def test_key_login(self):
        p, line = self.attempt(lambda: self.assertEqual(SSHD.key(KEY_USER, KEYS.client).returncode, 0), KEY_USER,
                               ok=True)
        self.check_common(p, line, KEY_USER)
        self.assertEqual((p['method'], p['key_fp']), ('publickey', fingerprint(KEYS.client + '.pub')))
        self.assertNotIn('reason', line)

    def test_hostile_user_name(self):
        # No ssh client sends such a name: a process named sshd logs the
        # line sshd would (its strnvis escapes) to the real journal.
        fake = os.path.join(T, 'sshd')
        if not os.path.exists(fake):
            subprocess.run(['cp', '/usr/bin/logger', fake], check=True)
        vis = HOSTILE.replace('\\', '\\\\').replace('\n', '\\n').replace('\x1b', '\\033')
        msg = 'Failed password for invalid user %s from 127.0.0.1 port 4242 ssh2' % vis
        subprocess.run([fake, '-t', 'sshd', '--', msg], check=True)
        got = h.wait_for(lambda: [x for x in auth_lines() if x.get('user') == HOSTILE], 10)
        self.assertTrue(got, 'not in the auth file: %r' % auth_lines()[-3:])
        time.sleep(1)
        self.assertEqual(len([x for x in auth_lines() if x.get('user') == HOSTILE]), 1)
        self.assertEqual((got[0]['reason'], got[0]['src_port']), ('invalid_user', 4242))
        # one syslog line per event: nothing of the name broke the line
        raw = [l for l in D.output().splitlines() if 'auth_failed' in l and 'ev\\"il\\]' in l]
        self.assertEqual(len(raw), 1, raw)
        out = h.ctl('auth', '--dir', D.shards, '--user', HOSTILE)
        self.assertEqual(out.returncode, 0, out.stderr)
        text = out.stdout.decode()
        self.assertEqual(len(text.splitlines()), 1, text)
        self.assertNotIn('\x1b', text)
        self.assertIn('failed  ev"il]\\x0a\\x1b[31mx  127.0.0.1:4242  sshd  password  invalid_user', text)

    def test_restart_reads_on_from_the_cursor(self):
        stranger = os.path.join(T, 'stranger')
        self.attempt(lambda: SSHD.key(KEY_USER, stranger), KEY_USER)
        before = auth_lines()
        D.stop()
        # while no daemon runs: a rejected key (sshd's journal only)
        SSHD.key(KEY_USER, stranger)
        D.start()
        got = h.wait_for(lambda: len(auth_lines()) >= len(before) + 1 or None, 10)
        self.assertTrue(got, 'the attempt made while the daemon was down was missed')
        time.sleep(2)
        after = auth_lines()
        self.assertEqual(after[:len(before)], before)
        self.assertEqual(len(after), len(before) + 1, after[len(before):])
        self.assertEqual((after[-1]['user'], after[-1]['reason']), (KEY_USER, 'key_rejected'))

    def test_ctl_auth(self):
        SSHD.password(PW_USER, 'wrong-again')
        h.wait_for(lambda: [x for x in auth_lines() if x.get('user') == PW_USER], 10)
        r = h.ctl('auth', '--dir', D.shards, '--failed', '--json', '--src', '127.0.0.0/8')
        self.assertEqual(r.returncode, 0, r.stderr)
        objs = [json.loads(x) for x in r.stdout.splitlines()]
        self.assertTrue(objs)
        self.assertTrue(all(o['event'] == 'auth_failed' and o['src_ip'] == '127.0.0.1' for o in objs))
        self.assertEqual(objs, [x for x in auth_lines() if x['event'] == 'auth_failed'])
        r = h.ctl('auth', '--dir', D.shards, '--src', '10.0.0.0/8')
        self.assertEqual((r.returncode, r.stdout), (0, b''))
        r = h.ctl('auth', '--dir', D.shards, '--by-src', '--json')
        src = [json.loads(x) for x in r.stdout.splitlines()]
        lines = auth_lines()
        self.assertEqual(src, [{'src_ip': '127.0.0.1', 'failed': sum(x['event'] == 'auth_failed' for x in lines),
                                'succeeded': sum(x['event'] == 'auth_succeeded' for x in lines),
                                'first': src[0]['first'], 'last': src[0]['last']}])


PAIR_SETTLE = 8.5  # AUTHWATCH_PAIR_MS and a little: a PAM failure left unpaired would show


if __name__ == '__main__':
    h.in_private_mount_ns()
    unittest.main(verbosity=2)
