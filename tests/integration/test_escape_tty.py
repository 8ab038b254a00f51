"""Nothing escapes the recording through the terminal (issue 10, items 1
and 3), tried as a hostile recorded user would: a real OpenSSH sshd with the
shipped sshd snippet and PAM line (conf/, only the group renamed, the shim
as ForceCommand: deploy=forcecommand), real unprivileged users, and
telnetd + login(1) for mode=tty. Each attack leaves a marker built at run time (so the typed
command never holds it); the check is that everything the client showed is
the recording, byte for byte, and that the marker never reached the client
or the attack failed the way the daemon makes it fail:
- the shell's parent (the shim) shows no fd of the outer terminal;
- the outer terminal, found by its name in ps, is root's 0600 and cannot
  be opened or written;
- a process started before the shim (as ~/.bashrc under ForceCommand
  would start one) that holds the terminal open, blocked in read(), loses
  it at the attach: its read ends, its writes fail, the keys go to the
  shell;
- code run before the shim that attaches with the real token and a pty of
  its own (a decoy) is refused with one line, and the real login is
  recorded;
- over telnet, login(1)'s terminal is taken the same way.
Runs in a private mount namespace: the machine's files are never changed."""
import json
import os
import re
import signal
import subprocess
import sys
import termios
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
import pamharness as ph  # noqa: E402

GROUP = 'srtty-rec'
USER, DASH, PRE, TEL = 'srtty-a', 'srtty-dash', 'srtty-pre', 'srtty-tel'
D = T = KEYS = SSHD = TD = None

# Started by PRE's ForceCommand before the shim, on the outer terminal (fds
# 1-2), SIGHUP ignored as a hostile job would: one thread blocks in read()
# at once (n_tty's read lock); once the terminal is taken (root's) it tries
# to write a marker, to reopen the terminal, to read again. What happened
# goes to a file, never to the terminal.
HOLDER = r'''
import json, os, signal, sys, threading, time
signal.signal(signal.SIGHUP, signal.SIG_IGN)
log, res = sys.argv[1], {}
name = os.ttyname(1)  # a background job's stdin is /dev/null; 1 is the tty, read-write
def reader():
    try:
        res['first_read'] = repr(os.read(1, 100))
    except OSError as e:
        res['first_read'] = 'errno %d' % e.errno
threading.Thread(target=reader, daemon=True).start()
time.sleep(0.2)  # the read is blocked by now: the shim may go on
open(log + '.ready', 'w').close()
end = time.time() + 20
while time.time() < end and os.stat(name).st_uid != 0:
    time.sleep(0.02)
res['taken'] = os.stat(name).st_uid == 0
time.sleep(0.3)
m = 'ESC' + 'APE-BG'
try:
    os.write(1, (m + '\r\n').encode())
    res['write'] = 'ok'
except OSError as e:
    res['write'] = 'errno %d' % e.errno
for what, path in (('reopen', name), ('devtty', '/dev/tty')):
    try:
        os.close(os.open(path, os.O_RDWR | os.O_NOCTTY))
        res[what] = 'ok'
    except OSError as e:
        res[what] = 'errno %d' % e.errno
try:
    res['second_read'] = repr(os.read(1, 100))
except OSError as e:
    res['second_read'] = 'errno %d' % e.errno
time.sleep(1)
with open(log + '.tmp', 'w') as f:
    json.dump(res, f)
os.rename(log + '.tmp', log)
'''

# Run before the shim with the real token: attaches with the terminal and a
# pty master of its own, a decoy for the daemon to relay.
DECOY = r'''
import json, os, socket, sys
c = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
c.connect(sys.argv[1])
m, s = os.openpty()
socket.send_fds(c, [json.dumps({'op': 'attach', 'token': os.environ['SESSREC_TOKEN'], 'term': 'xterm',
                                'shell': '/bin/sh'}).encode()], [0, m])
c.settimeout(10)
with open(sys.argv[2], 'w') as f:
    f.write(c.recv(4096).decode())
'''

# PRE's ForceCommand: the code a ~/.bashrc (or ~/.ssh/rc) would run before
# the shim, then the shim.
WRAPPER = '''#!/bin/sh
(trap '' HUP; exec python3 %(t)s/holder.py %(dir)s/holder.json 2>>%(dir)s/holder.err) &
while [ ! -e %(dir)s/holder.json.ready ]; do sleep 0.05; done
python3 %(t)s/decoy.py %(sock)s %(dir)s/decoy.json
exec %(shim)s
'''

REFUSED_MASTER = 'attach: sessrecd makes the inner pty itself; send only the terminal (1 fd), no pty master'


def shipped(path):
    with open(os.path.join(h.SRC, path)) as f:
        return f.read()


def pam_line():
    """The shipped PAM line of conf/pam.d/sessrec-sshd, for the test group
    and daemon, with the shim as ForceCommand (deploy=forcecommand): the
    attacks here are on the terminal, and PRE's stand for code that runs
    before the shim, which only a ForceCommand deployment allows."""
    line = [ln for ln in shipped('conf/pam.d/sessrec-sshd').splitlines() if ln.startswith('session')][0]
    line = line.replace('pam_sessrec.so', ph.module()).replace('groups=recorded', 'groups=' + GROUP)
    return '%s socket=%s timeout_ms=2000 deploy=forcecommand' % (line, D.sock)


def sshd_snippet():
    """conf/sshd_config.d/sessrec.conf for the test group, then PRE's
    ForceCommand (the others' comes after: Sshd's forced users)."""
    text = shipped('conf/sshd_config.d/sessrec.conf')
    text = text.replace('Match Group recorded', 'Match Group %s' % GROUP)
    pre = 'Match User %s\n\tForceCommand %s\n' % (PRE, os.path.join(T, 'pre-wrapper'))
    return text.rstrip('\n') + '\n' + pre


def setUpModule():
    global D, T, KEYS, SSHD, TD
    D = h.Daemon()
    T = h.tmpdir('srtty-')
    KEYS = ph.Keys(T)
    ph._account_tool(['groupadd', '-f', GROUP])
    for u in (USER, DASH, PRE, TEL):
        ph.ensure_user(u, '/bin/dash' if u == DASH else '/bin/bash', KEYS, password=(u == TEL))
        ph._account_tool(['usermod', '-aG', GROUP, u])
    predir = os.path.join(T, 'pre')
    os.mkdir(predir)
    pw = ph.pwd.getpwnam(PRE)
    os.chown(predir, pw.pw_uid, pw.pw_gid)
    for name, text in (('holder.py', HOLDER), ('decoy.py', DECOY)):
        with open(os.path.join(T, name), 'w') as f:
            f.write(text)
    wrapper = os.path.join(T, 'pre-wrapper')
    with open(wrapper, 'w') as f:
        f.write(WRAPPER % {'t': T, 'dir': predir, 'sock': D.sock, 'shim': h.binary('sessrec-shell')})
    os.chmod(wrapper, 0o755)
    SSHD = ph.Sshd(T, KEYS, pam_line(), [USER, DASH], extra=sshd_snippet())
    TD = ph.Telnetd(T, ph.module_line(socket=D.sock, users=TEL))


def tearDownModule():
    if TD:
        TD.stop()
    ph.tear_down(SSHD, D, T)


class Base(unittest.TestCase):
    def login(self, user):
        p = SSHD.login(user)
        self.addCleanup(p.finish)
        p.expect(h.PROMPT_RX, 20)
        return p

    def run_cmd(self, p, cmd):
        """Runs cmd in p's shell; what it printed up to the next prompt."""
        start = len(p.out)
        p.send(cmd + '\r')
        p.expect(h.PROMPT_RX, 15)
        return p.out[start:]

    def logout_recorded(self, p, sid, marker):
        """The shell exits; everything the client showed is the recording,
        byte for byte, and the marker never reached the client."""
        p.send('exit 0\r')
        self.assertEqual(p.wait(15), 0)
        self.assertIsNotNone(D.wait_end(sid, 15), 'no end line for ' + sid)
        lines = D.lines()
        h.check_shard_sane(self, lines)
        self.assertEqual(h.channel_bytes(lines, sid, 'o'), p.out)
        self.assertNotIn(marker, p.out)
        return lines


class SshTerminal(Base):
    def test_shim_holds_nothing_of_the_outer_tty(self):
        p = self.login(USER)
        sid = ph.ask_sid(p)
        out = self.run_cmd(p, 'cat /proc/$PPID/comm; readlink /proc/$PPID/fd/0 /proc/$PPID/fd/1 /proc/$PPID/fd/2;'
                              ' echo "links=$?"; ls /proc/$PPID/fd >/dev/null 2>&1; echo "ls=$?"')
        self.assertIn(b'sessrec-shell\r\n', out)
        self.assertIn(b'links=1\r\n', out)
        self.assertNotIn(b'/dev/pts', out)
        self.assertIn(b'ls=2\r\n', out)  # non-dumpable: /proc/PID/fd is root's
        self.logout_recorded(p, sid, b'\x00')

    def test_outer_tty_cannot_be_opened(self):
        for user in (USER, DASH):
            with self.subTest(user=user):
                self.outer_tty_cannot_be_opened(user)

    def outer_tty_cannot_be_opened(self, user):
        p = self.login(user)
        sid = ph.ask_sid(p)
        # ps names the terminal sshd gave the login: "sshd: USER@pts/N"
        # (the shim's parent, or its grandparent under dash, which forks).
        out = self.run_cmd(p, 'o=/dev/$(ps -o args= -p $(ps -o ppid= -p $PPID) $(ps -o ppid= -p $(ps -o ppid= -p'
                              ' $PPID)) | sed -n "s/.*@//p" | head -1); echo "outer=$o";'
                              ' stat -c "owner=%U mode=%a" $o; m=ESC; m=${m}APE-W;'
                              ' printf "%s\\r\\n" $m | tee $o >/dev/null; echo "write=$?"; head -c1 $o; echo "read=$?"')
        m = re.search(rb'outer=(/dev/pts/\d+)\r\n', out)
        self.assertIsNotNone(m, out)
        self.assertNotEqual(m.group(1), self.run_cmd(p, 'tty').split(b'\r\n')[1], 'the shell is on the outer tty')
        self.assertIn(b'owner=root mode=600\r\n', out)
        self.assertIn(b'Permission denied', out)
        self.assertIn(b'write=1\r\n', out)
        self.assertIn(b'read=1\r\n', out)
        self.logout_recorded(p, sid, b'ESCAPE-W')


class BeforeTheShim(Base):
    def test_holder_and_decoy(self):
        holder = os.path.join(T, 'pre', 'holder.json')
        decoy = os.path.join(T, 'pre', 'decoy.json')
        p = self.login(PRE)
        sid = ph.ask_sid(p)
        # The keys go to the shell, not to the blocked reader.
        self.assertIn(b'typed-42\r\n', self.run_cmd(p, 'echo typed-$((40+2))'))
        res = json.loads(h.wait_for(lambda: h.read_text(holder), 25) or '{}')
        self.assertTrue(res.get('taken'), '%r %s' % (res, h.read_text(os.path.join(T, 'pre', 'holder.err'))))
        self.assertEqual(res.get('first_read'), "b''", res)    # hung up: end of file
        self.assertEqual(res.get('write'), 'errno 5', res)      # EIO
        self.assertEqual(res.get('second_read'), "b''", res)
        self.assertEqual(res.get('reopen'), 'errno 13', res)    # EACCES: root's 0600
        self.assertEqual(res.get('devtty'), 'errno 6', res)     # ENXIO: no controlling tty any more
        reply = json.loads(h.read_text(decoy) or '{}')
        self.assertEqual(reply, {'ok': False, 'error': REFUSED_MASTER})
        ev = [e for e in D.events('attach_refused', sid)]
        self.assertEqual([e['sd']['relay@55555']['reason'] for e in ev], [REFUSED_MASTER])
        lines = self.logout_recorded(p, sid, b'ESCAPE-BG')
        self.assertIn(b'echo typed-$((40+2))\r', h.channel_bytes(lines, sid, 'i'))


class RecordTerminal(unittest.TestCase):
    def start(self, d, hold):
        """`sessrecctl record` on a terminal as a login has it (group tty,
        0620), running until hold exists."""
        script = 'echo rec-started; while [ ! -e %s ]; do sleep 0.05; done; echo rec-done' % hold
        p = h.Pty(['/bin/sh', '-c', 'chgrp %d "$(tty)" && chmod 0620 "$(tty)" && exec "$@"' % h.TTY_GID, 'sh',
                   h.binary('sessrecctl'), 'record', '--socket', d.sock, '--', '/bin/sh', '-c', script],
                  env=h.ctl_env())
        self.addCleanup(p.finish)
        p.expect(b'rec-started\r\n', 15)
        return p

    def given_back(self, p):
        st = os.stat(p.slave_name)
        self.assertEqual((st.st_uid, st.st_gid, st.st_mode & 0o7777), (0, h.TTY_GID, 0o620))

    def test_given_back_by_a_restarted_daemon(self):
        """The owner to give back is in the state file: a daemon killed
        (-9) while it held the terminal, and started again, gives it back."""
        d = h.Daemon()
        self.addCleanup(d.cleanup)
        hold = os.path.join(d.tmp, 'hold')
        p = self.start(d, hold)
        self.assertEqual(os.stat(p.slave_name).st_mode & 0o7777, 0o600)
        owner = '"tty_owner":{"uid":0,"gid":%d,"mode":%d}' % (h.TTY_GID, 0o620)
        # The state file itself (named by its sid), not the temporary file
        # it is written to before the rename: a kill between the two
        # leaves no state file.
        self.assertTrue(h.wait_for(lambda: [f for f in os.listdir(d.state) if '.' not in f and
                                            owner in (h.read_text(os.path.join(d.state, f)) or '')], 5),
                        'no state file with ' + owner)
        d.p.send_signal(signal.SIGKILL)
        d.p.wait(5)
        h._pids.pop(d.p.pid, None)
        d.start()
        self.assertTrue(h.wait_for(lambda: 'resumed 1 session' in d.output(), 10), d.output()[-1000:])
        self.assertEqual(os.stat(p.slave_name).st_mode & 0o7777, 0o600)
        open(hold, 'w').close()
        self.assertEqual(p.wait(15), 0)
        self.given_back(p)

    def test_record_gets_its_terminal_back(self):
        """`sessrecctl record`: the daemon holds the operator's terminal
        (root's 0600, exclusive) while it records, and gives back owner,
        group, mode and modes at the end."""
        hold = os.path.join(T, 'record-hold')
        p = self.start(D, hold)
        st = os.stat(p.slave_name)
        self.assertEqual((st.st_uid, st.st_mode & 0o7777), (0, 0o600))
        os.chmod(p.slave_name, 0o620)  # by hand, as root: still exclusive
        self.assertEqual(subprocess.run(['sh', '-c', 'exec 3>%s' % p.slave_name], capture_output=True,
                                        user=ph.pwd.getpwnam(USER).pw_uid).returncode != 0, True)
        os.chmod(p.slave_name, 0o600)
        open(hold, 'w').close()
        self.assertEqual(p.wait(15), 0)
        self.assertIn(b'rec-done\r\n', p.out)
        self.given_back(p)
        fd = os.open(p.slave_name, os.O_RDWR | os.O_NOCTTY)
        try:
            lflag = termios.tcgetattr(fd)[3]
        finally:
            os.close(fd)
        self.assertEqual(lflag & (termios.ECHO | termios.ICANON), termios.ECHO | termios.ICANON)


class LoginTerminal(unittest.TestCase):
    def test_login_tty_taken(self):
        """login(1), mode=tty: no pts but the shell's own can be written."""
        p = TD.login(TEL)
        self.addCleanup(p.finish)
        sid = ph.ask_sid(p)
        start = len(p.out)
        # The daemon names the terminal it took: login's, root's 0600 now.
        outer = [s['tty'] for s in h.call(D.sock, {'op': 'list'})['sessions'] if s['sid'] == sid]
        self.assertEqual(len(outer), 1)
        st = os.stat(outer[0])
        self.assertEqual((st.st_uid, st.st_mode & 0o7777), (0, 0o600), outer[0])
        p.send('m=ESC; m=${m}APE-T; me=$(tty); n=0; for t in /dev/pts/[0-9]*; do [ $t = $me ] && continue;'
               ' (echo $m > $t) 2>/dev/null && echo "wrote:$t"; n=$((n+1)); done; echo "tried=$n"\r')
        p.expect(rb'tried=(\d+)\r\n', 15)
        p.expect(h.PROMPT_RX, 15)
        out = p.out[start:]
        self.assertIsNone(re.search(rb'wrote:/dev', out), out)
        p.send('exit 0\r')
        p.wait(15)
        self.assertIsNotNone(D.wait_end(sid, 15), 'no end line for ' + sid)
        lines = D.lines()
        rec = h.channel_bytes(lines, sid, 'o')
        self.assertIn(rec, p.out)  # the client also saw telnet's banner and the login prompts
        self.assertNotIn(b'ESCAPE-T', p.out)


if __name__ == '__main__':
    h.in_private_mount_ns()
    unittest.main(verbosity=2)
