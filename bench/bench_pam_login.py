#!/usr/bin/python3
"""bench_pam_login: what pam_sessrec costs at login. Prints, in one run:

1. SSH login time to the first prompt (real sshd on 127.0.0.1, real ssh
   client on a pty, key authentication), median / p90 of N logins each,
   interleaved: without the module; a recorded user (module + sessrec-shell +
   sessrecd); an unselected user who also goes through sessrec-shell; an
   unselected user without it.
2. pam_open_session + pam_close_session in-process (pam_start_confdir,
   real libpam through ctypes) for an unselected user, with and without
   the module line: the module's own cost where it decides "not selected".

Run as root from the source tree after a build:
    SESSREC_BUILD=build python3 bench/bench_pam_login.py [N]
It works in a private mount namespace (test copies of /etc/pam.d/sshd are
bind-mounted there only) and creates the srp-b* test users if missing."""
import ctypes
import os
import shutil
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'tests', 'integration'))
os.environ.setdefault('SESSREC_BUILD', os.path.join(HERE, '..', 'build'))
os.environ['SESSREC_BUILD'] = os.path.abspath(os.environ['SESSREC_BUILD'])
import harness as h  # noqa: E402
import pamharness as ph  # noqa: E402

REC, UNSEL, NONE = 'srp-brec', 'srp-bunsel', 'srp-bnone'


def login_time(sshd, user):
    t0 = time.monotonic()
    p = sshd.login(user)
    p.expect(h.PROMPT_RX, 30)
    took = time.monotonic() - t0
    p.send('exit\r')
    p.wait(15)
    p.finish()
    return took


def ssh_bench(n):
    d = h.Daemon()
    tmp = h.tmpdir('srbench-')
    keys = ph.Keys(tmp)
    for u in (REC, UNSEL, NONE):
        ph.ensure_user(u, '/bin/bash', keys)
    # groups= makes the unselected users pay the group lookup too.
    line = ph.module_line(socket=d.sock, users=REC, groups='adm')
    sshd = ph.Sshd(tmp, keys, line, [REC, UNSEL])
    cases = [('no module', None, NONE),
             ('recorded (module + shim)', line, REC),
             ('unselected, through the shim', line, UNSEL),
             ('unselected, no shim', line, NONE)]
    times = {c[0]: [] for c in cases}
    try:
        for name, l, user in cases:  # warm-up: caches, first useradd, etc.
            sshd.pam.set(l)
            login_time(sshd, user)
        for i in range(n):
            for name, l, user in cases[i % 4:] + cases[:i % 4]:
                sshd.pam.set(l)
                times[name].append(login_time(sshd, user))
    finally:
        sshd.stop()
        d.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)
    print('SSH login to first prompt, %d logins each (ms):' % n)
    print('  %-32s %8s %8s %8s' % ('', 'median', 'p90', 'min'))
    base = statistics.median(times['no module'])
    for name, _, _ in cases:
        t = sorted(times[name])
        med = statistics.median(t)
        print('  %-32s %8.1f %8.1f %8.1f   %+.1f vs no module'
              % (name, med * 1e3, t[int(len(t) * 0.9) - 1] * 1e3, t[0] * 1e3, (med - base) * 1e3))


class PamConv(ctypes.Structure):
    _fields_ = [('conv', ctypes.c_void_p), ('appdata_ptr', ctypes.c_void_p)]


def pam_loop(stack, user, n):
    pam = ctypes.CDLL('libpam.so.0', mode=ctypes.RTLD_GLOBAL)
    d = tempfile.mkdtemp(prefix='srbench-pam-')
    with open(os.path.join(d, 'bench'), 'w') as f:
        f.write(stack)
    conv = PamConv(None, None)
    h_ = ctypes.c_void_p()
    t0 = time.perf_counter()
    for _ in range(n):
        if pam.pam_start_confdir(b'bench', user.encode(), ctypes.byref(conv), d.encode(), ctypes.byref(h_)):
            raise RuntimeError('pam_start_confdir failed')
        pam.pam_open_session(h_, 0)
        pam.pam_close_session(h_, 0)
        pam.pam_end(h_, 0)
    took = (time.perf_counter() - t0) / n
    os.unlink(os.path.join(d, 'bench'))
    os.rmdir(d)
    return took


def pam_bench(n):
    mod = ph.module()
    base = 'session optional pam_permit.so\n'
    cases = [('pam_permit only', base),
             ('+ pam_succeed_if (reference)', 'session [default=ignore] pam_succeed_if.so quiet user = root\n' + base),
             ('+ pam_sessrec users=', 'session requisite %s users=root socket=/nonexistent\n%s' % (mod, base)),
             ('+ pam_sessrec groups=', 'session requisite %s groups=adm,sudo socket=/nonexistent\n%s' % (mod, base))]
    print('pam_start_confdir + open + close + pam_end, unselected user %s, %d rounds (us per login):' % (NONE, n))
    res = {}
    for _ in range(3):
        for name, stack in cases:
            res.setdefault(name, []).append(pam_loop(stack, NONE, n))
    base_t = min(res['pam_permit only'])
    for name, _ in cases:
        t = min(res[name])
        print('  %-28s %8.1f   %+.1f' % (name, t * 1e6, (t - base_t) * 1e6))


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    h.in_private_mount_ns()
    ssh_bench(n)
    pam_bench(2000)


if __name__ == '__main__':
    main()
