#!/usr/bin/env python3
"""bench_commands: what the command tracer costs a session that runs many
short commands, and whether it keeps up.

    python3 bench/bench_commands.py [--build DIR] [--count N] [--rounds R]

A fork/exec loop of N (20,000) `/bin/true` in /bin/sh, timed inside the shell
(date +%s%N around the loop), in four variants run interleaved, R rounds
(3), medians reported:
- session+bpf   in a session recorded by a sessrecd with CommandSource=bpf
- session+off   in a session recorded by a sessrecd with CommandSource=off
- outside+bpf   outside any session while the bpf daemon traces an idle
                session (the kernel filter at work for everybody else)
- outside       outside any session, no tracer loaded
Figures: the loop's time per variant, the slowdown of session+bpf against
session+off and of outside+bpf against outside (the ratios the issue's
targets are about: under 10 % in a session, nothing measurable outside),
the records lost (execs of /bin/true missing from the shard, and the
daemon's own count from `sessrecctl status --json`), and the daemon's CPU
(utime+stime from /proc/PID/stat) per loop. Root only; private daemons on
temporary paths, removed at the end. No thresholds: this prints figures.
The machine is shared and noisy: read the medians, and run it again.
"""
import argparse, json, os, pty, re, select, shutil, signal, statistics, subprocess, sys, tempfile, time

CLK_TCK = os.sysconf('SC_CLK_TCK')


def log(msg):
    print(msg, file=sys.stderr, flush=True)


class Daemon:
    def __init__(self, build, source):
        self.tmp = tempfile.mkdtemp(prefix='bench-cmd-')
        os.chmod(self.tmp, 0o755)
        self.sock = os.path.join(self.tmp, 's.sock')
        self.shards = os.path.join(self.tmp, 'shards')
        conf = os.path.join(self.tmp, 'd.conf')
        with open(conf, 'w') as f:
            f.write('[Daemon]\nStateDirectory=%s\n[Recording]\nCommandSource=%s\nSessionMaxBytes=1G\n'
                    % (os.path.join(self.tmp, 'state'), source))
        self.out = open(os.path.join(self.tmp, 'daemon.out'), 'w+')
        self.p = subprocess.Popen([os.path.join(build, 'sessrecd', 'sessrecd'), '--foreground', '--config', conf,
                                   '--socket', self.sock, '--shard-dir', self.shards, '--syslog', 'none'],
                                  stdout=self.out, stderr=subprocess.STDOUT)
        for _ in range(200):
            if os.path.exists(self.sock):
                break
            time.sleep(0.05)
        else:
            sys.exit('sessrecd did not start: ' + open(self.out.name).read()[-400:])

    def cpu(self):
        with open('/proc/%d/stat' % self.p.pid) as f:
            fields = f.read().rsplit(')', 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()

    def cleanup(self):
        shutil.rmtree(self.tmp, ignore_errors=True)


def loop_script(n, tag):
    return ('s=$(date +%%s%%N); i=0; while [ $i -lt %d ]; do /bin/true %s; i=$((i+1)); done; '
            'e=$(date +%%s%%N); echo "LOOPNS $((e-s))"' % (n, tag))


def run_pty(argv):
    """argv on a fresh pty, its output read to the end; (status, output)."""
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(argv[0], argv)
    out = b''
    while True:
        r, _, _ = select.select([fd], [], [], 1.0)
        if r:
            try:
                d = os.read(fd, 65536)
            except OSError:
                d = b''
            if not d:
                break
            out += d
    os.close(fd)
    _, st = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(st), out


def loop_ns(out):
    m = re.search(rb'LOOPNS (\d+)', out)
    if not m:
        sys.exit('the loop printed no time: %r' % out[-300:])
    return int(m.group(1))


def in_session(build, d, n, tag):
    ctl = os.path.join(build, 'sessrecctl', 'sessrecctl')
    st, out = run_pty([ctl, 'record', '--socket', d.sock, '--', '/bin/sh', '-c', loop_script(n, tag)])
    if st != 0:
        sys.exit('record failed (%s): %r' % (st, out[-300:]))
    return loop_ns(out)


def outside(n):
    out = subprocess.run(['/bin/sh', '-c', loop_script(n, 'outside')], capture_output=True).stdout
    return loop_ns(out)


def count_execs(shards, tag):
    n = 0
    for root, _, files in os.walk(shards):
        for f in files:
            with open(os.path.join(root, f), 'rb') as fh:
                for line in fh:
                    if b'"argv":["/bin/true","%s"]' % tag.encode() in line:
                        n += 1
    return n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--build', default='build')
    ap.add_argument('--count', type=int, default=20000)
    ap.add_argument('--rounds', type=int, default=3)
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit('bench_commands: root only')
    off = Daemon(a.build, 'off')
    on = idle = None
    times = {k: [] for k in ('session+bpf', 'session+off', 'outside+bpf', 'outside')}
    lost_shard, lost_daemon, cpu = [], [], []
    ctl = os.path.join(a.build, 'sessrecctl', 'sessrecctl')
    try:
        for r in range(a.rounds):
            tag = 'bench-round-%d' % r
            # A fresh bpf daemon each round, stopped before the untraced
            # variants run: "outside" then has no program loaded at all.
            on = Daemon(a.build, 'bpf')
            for _ in range(200):  # the source starts after the socket exists
                if 'commands: ' in open(on.out.name).read():
                    break
                time.sleep(0.05)
            if 'source bpf' not in open(on.out.name).read():
                sys.exit('the bpf source did not start: ' + open(on.out.name).read()[-400:])
            c0 = on.cpu()
            times['session+bpf'].append(in_session(a.build, on, a.count, tag) / 1e9)
            cpu.append(on.cpu() - c0)
            # an idle traced session keeps the kernel filter busy for everyone
            idle = subprocess.Popen([ctl, 'record', '--socket', on.sock, '--', '/bin/sleep', '600'],
                                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                    start_new_session=True)
            time.sleep(0.5)
            times['outside+bpf'].append(outside(a.count) / 1e9)
            idle.kill()
            idle.wait()
            idle = None
            st = subprocess.run([ctl, 'status', '--json', '--socket', on.sock], capture_output=True).stdout
            lost_daemon.append(json.loads(st).get('commands_lost') if st else None)
            on.stop()
            lost_shard.append(a.count - count_execs(on.shards, tag))
            on.cleanup()
            on = None
            times['outside'].append(outside(a.count) / 1e9)
            times['session+off'].append(in_session(a.build, off, a.count, tag) / 1e9)
            log('round %d: %s' % (r + 1, ', '.join('%s %.3fs' % (k, v[-1]) for k, v in times.items())))
    finally:
        if idle:
            idle.kill()
            idle.wait()
        for d in (on, off):
            if d:
                d.stop()
                d.cleanup()
    med = {k: statistics.median(v) for k, v in times.items()}
    print('bench_commands: %d x /bin/true, %d rounds, medians' % (a.count, a.rounds))
    for k, v in med.items():
        print('  %-12s %7.3f s  (%.1f us per command)' % (k, v, v / a.count * 1e6))
    print('  slowdown in a session (bpf vs off):   %+.1f %%   (target: under 10 %%)'
          % ((med['session+bpf'] / med['session+off'] - 1) * 100))
    print('  slowdown outside sessions (bpf vs none): %+.1f %%   (target: nothing measurable)'
          % ((med['outside+bpf'] / med['outside'] - 1) * 100))
    print('  records lost: %s in the shards (per round), %s by the daemon\'s count   (target: 0)'
          % (lost_shard, lost_daemon))
    print('  daemon CPU per loop: %.2f s (median)' % statistics.median(cpu))


if __name__ == '__main__':
    main()
