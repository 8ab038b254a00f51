#!/usr/bin/env python3
"""bench_engine: what recording through sessrecd costs, beside a bare pty,
script(1), ttyrec and tlog-rec measured in the same run.

    python3 bench/bench_engine.py [--build DIR] [--compare DIR] [--quick] [--rounds N]
    python3 bench/bench_engine.py [--build DIR] [--compare DIR] --idle-only N

Every variant runs its command on a fresh pty that this script reads as fast
as it can. Besides the peers, `null` (bench/null_relay.c, compiled here) is
a relay that copies bytes through a second pty and records nothing: what
the hop alone costs on this machine, the floor for any recorder in the
data path. Runs are interleaved (A B C D E, A B C D E, ...) and medians are
reported, because the machine is noisy. --compare DIR adds a second
sessrecd built in DIR (an earlier commit) as the variant `sessrec@base`, run
interleaved with the others: a before/after of a change from one run. Root only (sessrecd opens sessions
for uid 0). It starts its own sessrecd on temporary paths and removes them.

Figures:
- throughput: `cat` of a mixed text + UTF-8 + escape sequence file (200 MB,
  20 MB with --quick), MB/s from spawn to the last byte, and the ratio to a
  bare pty (each run against the bare run of the same round, then the
  median: the pairs share the background load);
- echo round trip: one byte sent to `stty raw -echo; cat` and read back,
  p50 and p99 over 2000 round trips per round, and p50 minus bare (paired);
- time to first output: spawn to the first byte of `echo hi`;
- recorder CPU per 100 MB: sessrecd's utime+stime (from /proc/PID/stat)
  plus sessrecctl's own; for the others their own processes' CPU (the whole
  process tree's rusage minus what the inner bash and cat used);
- recording bytes per output byte: recording size / bytes the terminal
  got (the file plus the \r the pty puts before each \n: what the session
  printed, what the shard's "o" events hold and its end line counts as
  bytes_out; a recorder that stores raw bytes scores 1.00 plus its header);
- memory per idle session: the VmRSS of sessrecd and its keeper with 1 and
  N idle sessions (1000, 100 with --quick); for the others the RSS of the recorder
  process(es) one idle session keeps (each session is a process of its own).

--idle-only N runs only the last part for the sessrecd build(s): N idle
sessions, the memory they cost and the echo p99 of one more session among
them, beside the echo p99 of a session alone on the same daemon (measured
before the idle ones start: the lowest p99 of --rounds runs, 3 by default,
so the machine's noise does not flatter the ratio).
"""
import argparse, ctypes, fcntl, json, os, random, resource, select, shlex, shutil, signal
import statistics, struct, subprocess, sys, tempfile, termios, time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'tests', 'integration'))
import harness_records  # noqa: E402  the tests' one reader of event bytes (raw, x1b, d)

PR_SET_CHILD_SUBREAPER = 36
CLK_TCK = os.sysconf('SC_CLK_TCK')
ROWS, COLS = 40, 120

# The targets of the performance issue: against the null relay (the pty hop
# alone, measured in the same round), not the bare pty.
TARGETS = {
    'ratio_null': ('>= 0.95', lambda v: v >= 0.95),
    'echo_p50_null': ('<= +5 us', lambda v: v <= 5),
    'echo_p99_null': ('<= +20 us', lambda v: v <= 20),
    'cpu_null': ('<= +0.12 s', lambda v: v <= 0.12),
    'bytes': ('<= 1.13', lambda v: v <= 1.13),
    'kib_idle': ('<= 16 KiB', lambda v: v <= 16),
}


START = time.time()


def log(msg):
    print('%6.1fs %s' % (time.time() - START, msg), file=sys.stderr, flush=True)


def die(msg):
    log('bench_engine: ' + msg)
    sys.exit(1)


# ---------------------------------------------------------------- the data

def make_data(path, size):
    """A deterministic mix like a busy terminal: words, UTF-8 (2-, 3- and
    4-byte characters), SGR colour sequences, erase-line + carriage return
    progress lines, tabs. Returns (bytes, newlines, escape floor, the same
    with the stand-in, share of ESC in the output): the floor is what JSON
    escaping alone makes of each byte the pty gives (ESC as \u001b, \r \n \t
    as two bytes each), before any line framing; with the stand-in, ESC is
    U+241B, 3 bytes (lines with "x1b", sessrec-shards(5))."""
    rnd = random.Random(5555)
    ascii_words = ('the of and to in is for on that by this with from are at as be '
                   'server error warning request user session connect close open '
                   'read write /var/log/syslog 127.0.0.1 0x7f3a2c 200 404 OK done').split()
    utf8_words = ['café', 'naïve', 'Grüße', 'façade', 'żółć', 'доступ', 'ошибка', '日本語',
                  '中文', 'π≈3.14', '→', '✓', '✗', '€42', '😀', '🚀', 'Ωmega']
    colours = ['\x1b[1;31m', '\x1b[32m', '\x1b[1;33m', '\x1b[34m', '\x1b[38;5;208m', '\x1b[1m']
    lines = []
    for _ in range(40000):
        words = []
        for _ in range(rnd.randint(4, 16)):
            w = rnd.choice(utf8_words) if rnd.random() < 0.15 else rnd.choice(ascii_words)
            if rnd.random() < 0.06:
                w = rnd.choice(colours) + w + '\x1b[0m'
            words.append(w)
        line = ' '.join(words)
        r = rnd.random()
        if r < 0.05:
            line = '\x1b[2K\r' + line
        elif r < 0.10:
            line = '\t' + line
        lines.append(line + '\n')
    block = ''.join(lines).encode()
    written = newlines = escaped = esc = 0  # escaped: with ESC as \u001b
    with open(path, 'wb') as f:
        while written < size:
            chunk = block[:size - written]
            f.write(chunk)
            written += len(chunk)
            n = chunk.count(b'\n')
            newlines += n
            esc += chunk.count(b'\x1b')
            # the pty adds a \r per \n: each becomes 2 bytes in JSON too
            escaped += 5 * chunk.count(b'\x1b') + chunk.count(b'\r') + chunk.count(b'\t') + 2 * n
    total = written + newlines
    return written, newlines, (total + escaped) / total, (total + escaped - 3 * esc) / total, esc / total


# ---------------------------------------------------------------- processes

def set_subreaper():
    """Orphans (a recorder's helper processes) come back to us, so every
    process is waited for and its CPU counted (PID 1 here reaps nothing)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        die('prctl(PR_SET_CHILD_SUBREAPER) failed')


def spawn(argv, env=None):
    """argv as session leader on a fresh pty of ROWS x COLS; (pid, master)."""
    master, slave = os.openpty()
    fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack('HHHH', ROWS, COLS, 0, 0))
    pid = os.fork()
    if pid == 0:
        try:
            os.setsid()
            fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
            for fd in (0, 1, 2):
                os.dup2(slave, fd)
            os.closerange(3, 65536)
            os.execvpe(argv[0], argv, env or os.environ)
        finally:
            os._exit(127)
    os.close(slave)
    return pid, master


def readable(fd, timeout):
    """Whether fd is readable within timeout seconds: poll(), since fds go
    past select()'s FD_SETSIZE with the idle sessions open."""
    p = select.poll()
    p.register(fd, select.POLLIN)
    return bool(p.poll(max(0, timeout) * 1000))


def proc_stat(pid):
    """(comm, ppid, utime+stime seconds) from /proc/PID/stat, or None."""
    try:
        with open('/proc/%d/stat' % pid) as f:
            s = f.read()
    except OSError:
        return None
    comm = s[s.index('(') + 1:s.rindex(')')]
    fields = s[s.rindex(')') + 2:].split()
    return comm, int(fields[1]), (int(fields[11]) + int(fields[12])) / CLK_TCK


def vm_rss(pid):
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1])
    return 0


def descendants(root, depth=1 << 30):
    """The live descendants of root, down to depth generations."""
    kids = {}
    for d in os.listdir('/proc'):
        if d.isdigit():
            st = proc_stat(int(d))
            if st:
                kids.setdefault(st[1], []).append(int(d))
    out, todo = [], [(root, 0)]
    while todo:
        p, n = todo.pop()
        if n < depth:
            for c in kids.get(p, []):
                out.append(c)
                todo.append((c, n + 1))
    return out


class Reaper:
    """Waits for our children (never the daemon) and adds up their rusage;
    as subreaper we also get a recorder's orphaned helpers."""

    def __init__(self):
        self.keep = set()

    def reap(self, timeout=5.0):
        """Reaps every child but the daemon, waiting up to timeout for them to
        exit and then killing what is left. Returns (CPU seconds of what was
        reaped, its processes' trees included; {pid: exit status})."""
        cpu, status = 0.0, {}
        end = time.time() + timeout
        while True:
            try:
                info = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
            except ChildProcessError:
                info = None
            if info and info.si_pid not in self.keep:
                _, st, ru = os.wait4(info.si_pid, 0)
                cpu += ru.ru_utime + ru.ru_stime
                status[info.si_pid] = os.waitstatus_to_exitcode(st)
                continue
            left = [p for p in descendants(os.getpid(), 1) if p not in self.keep]
            if not left:
                return cpu, status
            if time.time() > end:
                for p in left + [q for p in left for q in descendants(p)]:
                    try:
                        os.kill(p, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                end = time.time() + 10
            time.sleep(0.002)


# ---------------------------------------------------------------- variants

class Variant:
    def __init__(self, name, wrap, rec_path=None, daemon=None):
        self.name = name
        self.wrap = wrap           # (inner argv, recording file) -> argv
        self.rec_path = rec_path   # for sessrec: the shard dir (sizes summed)
        self.daemon = daemon       # for sessrec: its Daemon


def sessrec_variant(name, d):
    return Variant(name, lambda a, f: [d.ctl, 'record', '--socket', d.sock, '--'] + a, d.shards, d)


def variants(daemons, have, null_relay=None):
    v = [Variant('bare', lambda a, f: a)] + [sessrec_variant(n, d) for n, d in daemons]
    if null_relay:
        v.append(Variant('null', lambda a, f: [null_relay] + a))
    if have('script'):
        v.append(Variant('script', lambda a, f: ['script', '-q', '-c', shlex.join(a), f]))
    if have('ttyrec'):
        v.append(Variant('ttyrec', lambda a, f: ['ttyrec', '-e', shlex.join(a), f]))
    if have('tlog-rec'):
        v.append(Variant('tlog-rec', lambda a, f: ['tlog-rec', '-w', 'file', '-o', f,
                                                   '--log-input=true'] + a))
    return v


def dir_size(d):
    return sum(os.path.getsize(os.path.join(p, f)) for p, _, fs in os.walk(d) for f in fs)


class Daemon:
    """A private sessrecd of one build, on paths under tmp/tag."""

    def __init__(self, build, tmp, tag, reaper):
        def find(name):
            for d, _, files in os.walk(build):
                if name in files and os.access(os.path.join(d, name), os.X_OK):
                    return os.path.join(d, name)
            die('no %s under %s: build first (./scripts/build)' % (name, build))
        base = os.path.join(tmp, tag)
        os.makedirs(base, mode=0o755)
        self.ctl = find('sessrecctl')
        sessrecd = find('sessrecd')
        self.sock = os.path.join(base, 'sessrecd.sock')
        self.shards = os.path.join(base, 'shards')
        conf = os.path.join(base, 'sessrecd.conf')
        key = os.path.join(base, 'seal.key')
        # Seals on, as the performance issue asks (chains always are).
        r = subprocess.run([self.ctl, 'keygen', '--key-file', key], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            die('sessrecctl keygen: ' + r.stderr.strip())
        # The verification key it prints once (HEX/EPOCH0/SEC), for verify --key.
        self.verify_key = next((w for w in r.stdout.split() if w.count('/') == 2 and
                                len(w.split('/')[0]) == 64), None)
        with open(conf, 'w') as f:
            # The 10 MiB default cap would stop recording the big cat early.
            # MaxSessions= (1024 by default) would refuse the 1,900 idle ones.
            f.write('[Daemon]\nMaxSessions=4096\n[Recording]\nSessionMaxBytes=64G\nMinFreeSpace=1M\n'
                    'SealKeyFile=%s\n' % key)
        self.log = open(os.path.join(base, 'sessrecd.log'), 'w+')
        self.argv = [sessrecd, '--foreground', '--config', conf, '--socket', self.sock,
                     '--shard-dir', self.shards, '--syslog', 'none']
        self.reaper = reaper
        self.start()

    def start(self):
        nofile = min(65536, resource.getrlimit(resource.RLIMIT_NOFILE)[1])

        def limits():  # what LimitNOFILE= in sessrecd.service gives it
            resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))
        if os.path.exists(self.sock):
            os.unlink(self.sock)
        self.proc = subprocess.Popen(self.argv, stdout=self.log, stderr=subprocess.STDOUT,
                                     preexec_fn=limits)
        self.reaper.keep.add(self.proc.pid)
        for _ in range(400):
            if os.path.exists(self.sock):
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.005)
        die('sessrecd did not start: ' + open(self.log.name).read()[-500:])

    def restart(self):
        self.stop()
        self.reaper.keep.discard(self.proc.pid)
        self.start()

    def check(self):
        if self.proc.poll() is not None:
            die('sessrecd died (status %s): %s' % (self.proc.returncode,
                                                   open(self.log.name).read()[-500:]))

    def cpu(self):
        return proc_stat(self.proc.pid)[2]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Bench:
    def __init__(self, args):
        self.args = args
        self.tmp = tempfile.mkdtemp(prefix='sessrec-bench.')
        os.chmod(self.tmp, 0o755)
        self.reaper = Reaper()
        self.daemons = []
        self.short_runs = []  # peers' runs that lost their last bytes

    def stop(self):
        for d in self.daemons:
            d.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def rec_file(self, v):
        return os.path.join(self.tmp, 'rec-' + v.name)

    def rec_size(self, v):
        if v.rec_path:
            return dir_size(v.rec_path)
        f = self.rec_file(v)
        return os.path.getsize(f) if os.path.exists(f) else 0

    def rec_clear(self, v):
        """Empties the recording between runs (keeps the disk small). sessrecd
        appends with O_APPEND, so truncating its shard under it is safe."""
        if v.rec_path:
            for p, _, fs in os.walk(v.rec_path):
                for f in fs:
                    os.truncate(os.path.join(p, f), 0)
        elif os.path.exists(self.rec_file(v)):
            os.unlink(self.rec_file(v))

    def finish(self, pid, master, wait=2.0, grace=5.0):
        """Lets the command end by itself (wait seconds at most), closes the
        pty, which hangs up what is left, and reaps everything, killing what
        is still there after grace seconds. Returns (CPU seconds, status)."""
        end = time.time() + wait
        while time.time() < end:
            r, _, _ = select.select([master], [], [], 0.05)
            if r:
                try:
                    if not os.read(master, 65536):
                        break
                except OSError:
                    break
            elif os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT):
                break
        os.close(master)
        # script(1) outlives a hangup of its terminal: it is killed after grace
        cpu, status = self.reaper.reap(grace)
        return cpu, status.get(pid)

    # -- throughput, CPU, recording size
    def run_cat(self, v, data, expect):
        times_file = os.path.join(self.tmp, 'times')
        inner = ['bash', '--norc', '--noprofile', '-c', 'cat "$1"; times > "$2"', 'cat',
                 data, times_file]
        self.rec_clear(v)
        size0 = self.rec_size(v)
        dcpu0 = v.daemon.cpu() if v.daemon else 0
        t0 = time.perf_counter()
        pid, master = spawn(v.wrap(inner, self.rec_file(v)))
        got, t1 = 0, None
        signal.alarm(600)  # a recorder that hangs ends the bench, not the reads
        while True:
            try:
                n = len(os.read(master, 1 << 16))
            except OSError:
                n = 0
            if n == 0:
                break
            got += n
            if got >= expect:
                break
        t1 = time.perf_counter()
        signal.alarm(0)
        tree_cpu, status = self.finish(pid, master)
        if got < expect:
            # sessrec's losing output is a failure; a peer's is its own bug
            # (ttyrec sometimes drops the last bytes): noted, timed to its EOF.
            msg = '%s: the pty gave %d of %d bytes (exit %s)' % (v.name, got, expect, status)
            if v.daemon or got < expect * 0.99:
                die(msg)
            log('    ' + msg)
            self.short_runs.append(msg)
        inner_cpu = 0.0
        with open(times_file) as f:  # bash's `times`: itself, then its children
            for line in f:
                for tok in line.split():
                    m, s = tok.rstrip('s').split('m')
                    inner_cpu += int(m) * 60 + float(s)
        os.unlink(times_file)
        cpu = max(0.0, tree_cpu - inner_cpu)
        if v.daemon:
            dcpu = v.daemon.cpu() - dcpu0
            log('    %s: sessrecd %.3f s + sessrecctl record %.3f s CPU' % (v.name, dcpu, cpu))
            cpu += dcpu
            v.daemon.check()
        return got / (t1 - t0) / 1e6, cpu, self.rec_size(v) - size0

    def verify_sessrec(self, v, expect):
        """The shard holds every output byte: the throughput is not bought by
        dropping data."""
        out, trunc, end = 0, False, False
        for p, _, fs in os.walk(v.rec_path):
            for fn in fs:
                with open(os.path.join(p, fn), 'rb') as f:
                    for raw in f:
                        try:
                            o = json.loads(raw)
                            if o.get('ch') == 'o':
                                out += len(harness_records.event_bytes(o))
                        except ValueError:
                            return False, out
                        trunc |= 'trunc' in o
                        end |= 'end' in o
        return out == expect and end and not trunc, out

    # -- echo round trip
    def run_echo(self, v, n):
        inner = ['sh', '-c', 'stty raw -echo; printf READY; exec cat']
        self.rec_clear(v)
        pid, master = spawn(v.wrap(inner, self.rec_file(v)))
        buf = b''
        end = time.time() + 10
        while b'READY' not in buf:
            if not readable(master, end - time.time()):
                die('%s: no READY from the echo program: %r' % (v.name, buf[-200:]))
            buf += os.read(master, 4096)
        time.sleep(0.05)
        while readable(master, 0):
            os.read(master, 4096)
        samples = []
        for _ in range(n):
            t0 = time.perf_counter_ns()
            os.write(master, b'a')
            got = b''
            while not got:
                if not readable(master, 5):
                    die('%s: no echo within 5 s' % v.name)
                got = os.read(master, 64)
            samples.append((time.perf_counter_ns() - t0) / 1000)
            if got != b'a':
                die('%s: echo gave %r' % (v.name, got))
        self.finish(pid, master, 0, 1)
        samples.sort()
        return samples[len(samples) // 2], samples[min(len(samples) - 1, int(len(samples) * 0.99))]

    # -- time to first output
    def run_first(self, v):
        self.rec_clear(v)
        t0 = time.perf_counter()
        pid, master = spawn(v.wrap(['echo', 'hi'], self.rec_file(v)))
        buf = b''
        t1 = None
        end = time.time() + 10
        while time.time() < end:
            r, _, _ = select.select([master], [], [], 0.5)
            if r:
                try:
                    d = os.read(master, 4096)
                except OSError:
                    d = b''
                if not d:
                    break
                buf += d
                if b'hi' in buf:
                    t1 = time.perf_counter()
                    break
        self.finish(pid, master)
        if t1 is None:
            die('%s: no "hi" from echo: %r' % (v.name, buf))
        return (t1 - t0) * 1000

    # -- idle sessions
    def idle_session(self, v):
        inner = ['sh', '-c', 'echo R; exec cat']
        pid, master = spawn(v.wrap(inner, self.rec_file(v) + '-idle'))
        return pid, master

    def wait_ready(self, sessions, timeout=60):
        pending = {m: b'' for _, m in sessions}
        poll = select.poll()  # not select(): fds go past FD_SETSIZE here
        for m in pending:
            poll.register(m, select.POLLIN)
        end = time.time() + timeout
        while pending and time.time() < end:
            for m, _ in poll.poll(1000):
                poll.unregister(m)
                try:
                    pending[m] += os.read(m, 4096)
                except OSError:
                    die('an idle session ended early: %r' % pending[m])
                if b'R' in pending[m]:
                    del pending[m]
                else:
                    poll.register(m, select.POLLIN)
        if pending:
            die('%d idle sessions never started' % len(pending))

    def close_sessions(self, sessions, grace=60):
        for _, m in sessions:
            os.close(m)
        self.reaper.reap(grace)

    def daemon_rss(self, v, n, echo_n=0):
        """(VmRSS in KiB of sessrecd and its keeper with n idle sessions,
        (p50, p99) of echo_n round trips of one more session among them or
        None)."""
        sessions = []
        try:
            for i in range(0, n, 50):
                batch = [self.idle_session(v) for _ in range(min(50, n - i))]
                sessions += batch
                self.wait_ready(batch)
            time.sleep(0.5)
            v.daemon.check()
            # the keeper, which holds a copy of every session's fds, counts too
            kib = sum(vm_rss(p) for p in [v.daemon.proc.pid] + descendants(v.daemon.proc.pid))
            return kib, self.run_echo(v, echo_n) if echo_n else None
        finally:
            self.close_sessions(sessions)

    def recorder_rss(self, v):
        """RSS of the processes a recorder keeps per idle session (not the
        inner sh/cat)."""
        s = self.idle_session(v)
        try:
            self.wait_ready([s])
            time.sleep(0.3)
            return sum(vm_rss(p) for p in [s[0]] + descendants(s[0])
                       if (proc_stat(p) or ('cat',))[0] not in ('cat', 'sh', 'dash', 'bash'))
        finally:
            self.close_sessions([s], 1)


def utmp_for_tlog():
    """tlog-rec refuses to run without /var/run/utmp, which machines without
    systemd lack. Then the bench re-executes itself in a private mount
    namespace with an empty utmp on a tmpfs /run; nothing outside changes.
    Returns a note for the report, or None."""
    if os.path.exists('/var/run/utmp') or not shutil.which('tlog-rec'):
        return None
    if os.environ.get('SESSREC_BENCH_NS') != '1':
        os.environ['SESSREC_BENCH_NS'] = '1'
        os.execvp('unshare', ['unshare', '--mount', '--propagation', 'private', sys.executable,
                              os.path.abspath(sys.argv[0])] + sys.argv[1:])
    subprocess.run(['mount', '-t', 'tmpfs', '-o', 'mode=0755', 'tmpfs', '/run'], check=True)
    with open('/run/utmp', 'w'):
        pass
    return 'no /var/run/utmp here (tlog-rec needs one): ran in a private mount namespace with an empty one'


def build_null_relay(tmp):
    """Compiles bench/null_relay.c (a relay that records nothing: the floor
    of the pty hop) into tmp; None without a C compiler."""
    cc = shutil.which('cc') or shutil.which('gcc')
    src = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'null_relay.c')
    out = os.path.join(tmp, 'null_relay')
    if not cc or subprocess.run([cc, '-O2', '-o', out, src, '-lutil']).returncode != 0:
        return None
    return out


def fmt(x, spec):
    return '-' if x is None else format(x, spec)


def idle_only(args):
    """--idle-only N: memory per idle session and the echo p99 among N
    idle sessions against the echo p99 alone, for the sessrecd build(s)."""
    if os.geteuid() != 0:
        die('run as root (sessrecd opens sessions for uid 0 only)')
    n, echo_n, rounds = args.idle_only, 2000, args.rounds or 3
    if n < 2:
        die('--idle-only needs 2 sessions or more')
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536), hard))
    set_subreaper()
    b = Bench(args)
    res = {}
    try:
        builds = [('sessrec', args.build)] + ([('sessrec@base', args.compare)] if args.compare else [])
        vs = []
        for name, build in builds:
            d = Daemon(os.path.abspath(build), b.tmp, name.replace('@', '-'), b.reaper)
            b.daemons.append(d)
            vs.append(sessrec_variant(name, d))
        for v in vs:
            alone = min(b.run_echo(v, echo_n)[1] for _ in range(rounds))
            one, _ = b.daemon_rss(v, 1)
            many, among = b.daemon_rss(v, n, echo_n)
            res[v.name] = (one, many, alone, among[1])
            log('  %s: VmRSS %d KiB with 1 idle session, %d KiB with %d; echo p99 alone %.1f us, '
                'among them %.1f us' % (v.name, one, many, n, alone, among[1]))
            b.rec_clear(v)
    finally:
        b.reaper.reap(5)
        b.stop()
    for name, (one, many, alone, among) in res.items():
        kib = (many - one) / (n - 1)
        print('%s: memory per idle session %.1f KiB (sessrecd+keeper VmRSS %d KiB with 1, %d KiB '
              'with %d; target %s): %s' % (name, kib, one, many, n, TARGETS['kib_idle'][0],
                                          'ok' if TARGETS['kib_idle'][1](kib) else 'MISSED'))
        print('%s: echo p99 among %d idle sessions %.1f us vs %.1f us alone (target <= 2x): %s' % (
            name, n, among, alone, 'ok' if among <= 2 * alone else 'MISSED'))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--build', default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                    '..', 'build'))
    ap.add_argument('--compare', metavar='DIR', help='also run the sessrecd built in DIR '
                    '(an earlier commit) as sessrec@base, interleaved')
    ap.add_argument('--quick', action='store_true', help='20 MB, 1 round, 100 idle sessions')
    ap.add_argument('--rounds', type=int, help='interleaved rounds (3; 1 with --quick): more '
                    'rounds, steadier medians on a noisy machine')
    ap.add_argument('--idle-only', type=int, metavar='N', help='only the idle part: memory per '
                    'idle session with N of them, echo among them and alone (sessrecd only)')
    args = ap.parse_args()
    if args.idle_only is not None:
        return idle_only(args)
    if os.geteuid() != 0:
        die('run as root (sessrecd opens sessions for uid 0 only)')
    ns_note = utmp_for_tlog()
    mb = 20 if args.quick else 200
    rounds = args.rounds or (1 if args.quick else 3)
    echo_n = 500 if args.quick else 2000
    first_n = 5 if args.quick else 20
    # 1,900: about as many sessions as the kernel's default pty limit (4096
    # pairs, two per session: the terminal and the inner pty) allows.
    idle_n = 100 if args.quick else 1900

    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536), hard))
    set_subreaper()
    signal.signal(signal.SIGALRM, lambda *_: die('a run took more than 10 minutes'))
    b = Bench(args)
    missing = [p for p in ('script', 'ttyrec', 'tlog-rec') if not shutil.which(p)]
    try:
        daemons = [('sessrec', Daemon(os.path.abspath(args.build), b.tmp, 'main', b.reaper))]
        b.daemons.append(daemons[0][1])
        if args.compare:
            daemons.append(('sessrec@base', Daemon(os.path.abspath(args.compare), b.tmp, 'base', b.reaper)))
            b.daemons.append(daemons[1][1])
        vs = variants(daemons, shutil.which, build_null_relay(b.tmp))
        recorders = [v for v in vs if v.daemon]
        data = os.path.join(b.tmp, 'data')
        size, newlines, floor, floor_x1b, esc_share = make_data(data, mb * 1000 * 1000)
        expect = size + newlines  # the pty turns each \n into \r\n
        log('bench_engine: %d MB mix, %d round(s), variants: %s%s' % (
            mb, rounds, ' '.join(v.name for v in vs),
            ' (missing: %s)' % ' '.join(missing) if missing else ''))

        tput = {v.name: [] for v in vs}
        cpu = {v.name: [] for v in vs}
        recb = {v.name: [] for v in vs}
        e50 = {v.name: [] for v in vs}
        e99 = {v.name: [] for v in vs}
        first = {v.name: [] for v in vs}
        complete = {}
        for rnd in range(rounds):
            for v in vs:
                mbps, c, rb = b.run_cat(v, data, expect)
                tput[v.name].append(mbps)
                cpu[v.name].append(c / (size / 1e8))
                recb[v.name].append(rb / expect)
                if v.daemon and v.name not in complete:
                    complete[v.name] = b.verify_sessrec(v, expect)
                b.rec_clear(v)
                log('  round %d %-8s %7.1f MB/s  cpu %.3f s/100MB  %.3f B/B' % (
                    rnd + 1, v.name, mbps, cpu[v.name][-1], recb[v.name][-1]))
            for v in vs:
                p50, p99 = b.run_echo(v, echo_n)
                e50[v.name].append(p50)
                e99[v.name].append(p99)
                log('  round %d %-8s echo p50 %.1f us p99 %.1f us' % (rnd + 1, v.name, p50, p99))
        for _ in range(first_n):
            for v in vs:
                first[v.name].append(b.run_first(v))
        log('  time to first output: %s ms' % ' '.join(
            '%s %.1f' % (n, statistics.median(x)) for n, x in first.items()))
        # The first session of a daemon that has just started (its socket
        # exists): what a login right after a boot or a restart waits.
        cold = {v.name: [] for v in recorders}
        for _ in range(first_n // 2):
            for v in recorders:
                v.daemon.restart()
                cold[v.name].append(b.run_first(v))
        log('  time to first output, cold daemon: %s ms' % ' '.join(
            '%s %.1f' % (n, statistics.median(x)) for n, x in cold.items()))

        rss = {}
        echo_idle = {}
        for v in recorders:
            one, _ = b.daemon_rss(v, 1)
            many, among = b.daemon_rss(v, idle_n, echo_n)
            rss[v.name] = (one, many)
            echo_idle[v.name] = among
            log('  %s: sessrecd (+ keeper) VmRSS: %d KiB with 1 idle session, %d KiB with %d; '
                'echo among them p50 %.1f us p99 %.1f us' % ((v.name,) + rss[v.name] + (idle_n,)
                                                          + among))
            b.rec_clear(v)
        peer_rss = {v.name: b.recorder_rss(v) for v in vs
                    if v.name not in ('bare', 'null') and not v.daemon}
    finally:
        b.reaper.reap(5)  # after an error: nothing of ours is left running
        b.stop()

    med = {k: statistics.median(x) for k, x in tput.items()}
    names = [v.name for v in vs]
    rows = []

    def row(label, vals, key=None, spec='.1f'):
        target, verdict = '', ''
        if key and 'sessrec' in vals:
            target = TARGETS[key][0]
            ok = TARGETS[key][1](vals['sessrec'])
            verdict = 'ok' if ok else 'MISSED'
        rows.append([label] + [fmt(vals.get(n), spec) for n in names] + [target, verdict])

    # Ratios and differences pair each run with the bare run of its round,
    # which saw the same background load, then take the median.
    def paired(d, f):
        return {n: statistics.median(f(x, y) for x, y in zip(d[n], d['bare'])) for n in names}
    # Against the null relay (the pty hop alone), paired with its run of the
    # same round: the performance issue's targets.
    def vs_null(d, f):
        return {n: statistics.median(f(x, y) for x, y in zip(d[n], d['null']))
                for n in names if n not in ('bare', 'null')} if 'null' in d else {}
    row('throughput, MB/s (median)', med)
    row('  ratio to bare pty (paired)', paired(tput, lambda x, y: x / y), None, '.2f')
    row('  ratio to null relay (paired)', vs_null(tput, lambda x, y: x / y), 'ratio_null', '.2f')
    row('echo round trip p50, us', {n: statistics.median(e50[n]) for n in names})
    row('  p50 minus bare, us (paired)', paired(e50, lambda x, y: x - y))
    row('  p50 minus null relay, us (paired)', vs_null(e50, lambda x, y: x - y), 'echo_p50_null')
    row('echo round trip p99, us', {n: statistics.median(e99[n]) for n in names})
    row('  p99 minus null relay, us (paired)', vs_null(e99, lambda x, y: x - y), 'echo_p99_null')
    row('time to first output, ms', {n: statistics.median(first[n]) for n in names}, None, '.2f')
    row('  first session of a cold daemon, ms', {n: statistics.median(x) for n, x in cold.items()},
        None, '.2f')
    row('recorder CPU s per 100 MB', {n: statistics.median(cpu[n]) if n != 'bare' else None
                                      for n in names}, None, '.3f')
    row('  minus null relay (paired)', vs_null(cpu, lambda x, y: x - y), 'cpu_null', '.3f')
    row('recording bytes / output byte', {n: statistics.median(recb[n])
                                          if n not in ('bare', 'null') else None
                                          for n in names}, 'bytes', '.3f')
    idle = {n: (r[1] - r[0]) / (idle_n - 1) for n, r in rss.items()}
    idle.update(peer_rss)
    row('memory per idle session, KiB', idle, 'kib_idle', '.1f')
    rows.append(['  sessrecd+keeper RSS 1 / %d idle, KiB' % idle_n]
                + ['%d / %d' % rss[n] if n in rss else '-' for n in names] + ['', ''])
    row('echo p99 among %d idle sessions, us' % idle_n, {n: x[1] for n, x in echo_idle.items()})

    head = ['%s (%s MB, %d round%s)' % ('quick' if args.quick else 'full', mb, rounds,
                                         '' if rounds == 1 else 's')] + names + ['target', '']
    widths = [max(len(str(r[i])) for r in rows + [head]) for i in range(len(head))]
    line = lambda r: '  '.join(str(c).ljust(w) if i == 0 else str(c).rjust(w)
                               for i, (c, w) in enumerate(zip(r, widths))).rstrip()
    print(line(head))
    print('  '.join('-' * w for w in widths))
    for r in rows:
        print(line(r))
    print()
    # The targets that are relations between rows.
    if 'script' in names:
        beat = [x > y for x, y in zip(tput['sessrec'], tput['script'])]
        print('throughput above script(1) in every round: %s (%d of %d rounds)' % (
            'ok' if all(beat) else 'MISSED', sum(beat), len(beat)))
        c, w = statistics.median(cold['sessrec']), statistics.median(first['script'])
        print('cold daemon first session %.2f ms vs script(1) start %.2f ms: %s' % (
            c, w, 'ok' if c <= w else 'MISSED'))
    alone, among = statistics.median(e99['sessrec']), echo_idle['sessrec'][1]
    print('echo p99 among %d idle sessions %.1f us vs %.1f us alone (target <= 2x): %s' % (
        idle_n, among, alone, 'ok' if among <= 2 * alone else 'MISSED'))
    ok = True
    for n, (good, out) in complete.items():
        ok &= good
        print('%s recording complete (every output byte in the shard, end line, no trunc): %s'
              % (n, 'yes' if good else 'NO (%d of %d bytes)' % (out, expect)))
    print('the mix: %.1f%% of output bytes are ESC, one newline per %.0f bytes; JSON escaping alone '
          'makes it %.3f bytes per output byte before any line framing, %.3f with ESC as the 3-byte '
          'stand-in U+241B ("x1b" lines)' % (100.0 * esc_share, size / newlines, floor, floor_x1b))
    print('sessrec records input and output; tlog-rec runs with --log-input; script and ttyrec '
          'record output only; null is bench/null_relay.c, a relay that records nothing (the '
          'cost of the pty hop alone).')
    print('memory: the VmRSS growth of sessrecd and its keeper per idle session; for the others '
          'the RSS of the process(es) each session keeps.')
    for msg in b.short_runs:
        print('peer lost output (its run is timed to its EOF): ' + msg)
    if missing:
        print('not measured (not installed): ' + ', '.join(missing))
    if ns_note:
        print(ns_note)
    if not ok:
        sys.exit(1)  # figures of a recorder that drops data mean nothing


if __name__ == '__main__':
    main()
