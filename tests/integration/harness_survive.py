"""Helpers for the test_survive_* tests (sessions outliving sessrecd): session
programs that trap SIGHUP into a file and print numbered lines, recorded
sessions and their sids, the keeper process of a daemon, the checks every
restart test makes on a recording (byte-for-byte what the terminal got, the
m markers of the gaps), and the pauses a user saw. Python 3 stdlib only."""
import os
import re
import select
import signal
import time

import harness as h

KEEPER = 'sessrecd-keeper'
MARKER = re.compile(r'^recorder restarted; gap (\d+\.\d{3}) s$')


def ticker(hupfile, count, interval=0.1, tag='tick', then=''):
    """sh printing tag1..tagN every interval; SIGHUP is written to hupfile."""
    return ("trap 'echo HUP >> %s; exit 129' HUP; i=1; while [ $i -le %d ]; do echo %s$i; i=$((i+1)); "
            "sleep %s; done; %s" % (hupfile, count, tag, interval, then))


def producer(hupfile, tag, interval, count):
    """perl printing "<tag> <n>" lines every interval until count (light
    enough for 50 at once: no fork per line); SIGHUP goes to hupfile."""
    return ("exec perl -e '$SIG{HUP}=sub{open(my $f,\">>\",\"%s\");print $f \"HUP %s\\n\";close $f;exit 129};"
            "$|=1;for my $i (1..%d){print \"%s $i\\n\";select(undef,undef,undef,%s)}'"
            % (hupfile, tag, count, tag, interval))


class Sessions:
    """Mixin for a unittest.TestCase that has the daemon's socket in
    self.sock and its shard lines from self.lines()."""

    def session(self, script):
        """script recorded on a fresh pty, ended with the test."""
        p = h.record(self.sock, script)
        self.addCleanup(p.finish)
        return p

    def sid_of(self, tag):
        """The one recording whose output shows tag."""
        sids = h.wait_for(lambda: h.sids_with_output(self.lines(), tag.encode()), 5)
        self.assertEqual(len(sids), 1, 'recordings showing %r' % tag)
        return sids[0]


def comm(pid):
    try:
        with open('/proc/%d/comm' % pid) as f:
            return f.read().strip()
    except OSError:
        return None


def ppid(pid):
    with open('/proc/%d/stat' % pid, 'rb') as f:
        st = f.read()
    return int(st[st.rindex(b')') + 2:].split()[1])


def keeper_of(daemon_pid, timeout=5.0):
    """The keeper a daemon started (its child named sessrecd-keeper)."""
    def find():
        for d in os.listdir('/proc'):
            if d.isdigit():
                try:
                    if ppid(int(d)) == daemon_pid and comm(int(d)) == KEEPER:
                        return int(d)
                except (OSError, ValueError):
                    pass
        return None
    return h.wait_for(find, timeout)


def proc_uid(pid):
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith('Uid:'):
                return int(line.split()[1])
    return None


def wait_gone(pid, timeout=10.0):
    """Waits until pid has exited; reaps it when it became our child
    (the test process is a subreaper). True when it is gone."""
    end = time.time() + timeout
    while time.time() < end:
        try:
            p, _ = os.waitpid(pid, os.WNOHANG)
            if p:
                return True
        except ChildProcessError:
            if not h.alive(pid):
                return True
        time.sleep(0.02)
    return False


def kill9(daemon):
    """SIGKILL the daemon and wait for it (its keeper stays)."""
    daemon.p.send_signal(signal.SIGKILL)
    daemon.p.wait(5)
    h._pids.pop(daemon.p.pid, None)


def markers(lines, sid):
    return [o['d'] for o in h.session_lines(lines, sid) if o.get('ch') == 'm']


def gap_markers(lines, sid):
    return [float(MARKER.match(m).group(1)) for m in markers(lines, sid) if MARKER.match(m)]


def check_recording(tc, lines, sid, term, restarts, what=''):
    """The session's recording is exactly what its terminal got, its events
    in time order, with one gap marker per restart."""
    rec = h.channel_bytes(lines, sid, 'o')
    if rec != term:
        i = next((k for k in range(min(len(rec), len(term))) if rec[k] != term[k]), min(len(rec), len(term)))
        tc.fail('%s: recording differs from the terminal at byte %d of %d/%d: rec %r term %r'
                % (what or sid, i, len(rec), len(term), rec[max(0, i - 40):i + 40], term[max(0, i - 40):i + 40]))
    ts = [o['t'] for o in h.session_lines(lines, sid) if 't' in o]
    tc.assertEqual(ts, sorted(ts), '%s: event times go backwards' % (what or sid))
    tc.assertEqual(len(gap_markers(lines, sid)), restarts, '%s: markers %r' % (what or sid, markers(lines, sid)))


def numbers(data, tag):
    return [int(x) for x in re.findall(rb'%s(\d+)' % re.escape(tag.encode()), data)]


class Arrivals:
    """Times at which each pty's output arrived, to measure pauses."""

    def __init__(self, ptys):
        self.ptys = ptys
        self.times = {id(p): [] for p in ptys}
        self.ends = {id(p): [] for p in ptys}   # len(p.out) after each arrival
        self.sizes = {id(p): 0 for p in ptys}

    def note(self):
        now = time.monotonic()
        for p in self.ptys:
            if len(p.out) != self.sizes[id(p)]:
                self.sizes[id(p)] = len(p.out)
                self.times[id(p)].append(now)
                self.ends[id(p)].append(len(p.out))

    def at(self, p, offset):
        """When byte offset of p's output arrived."""
        import bisect
        i = bisect.bisect_right(self.ends[id(p)], offset)
        ts = self.times[id(p)]
        return ts[min(i, len(ts) - 1)] if ts else 0.0

    def pump(self, seconds, until=None):
        end = time.time() + seconds
        while time.time() < end:
            live = [p.master for p in self.ptys if p.master >= 0 and not p.closed]
            if live:
                r, _, _ = select.select(live, [], [], 0.005)
                for p in self.ptys:
                    if p.master in r:
                        p.pump(0)   # readable: reads what is there at once
            else:
                time.sleep(0.005)
            self.note()
            for p in self.ptys:
                p.poll()
            if until and until():
                return True
        return until() if until else True

    def pause_around(self, p, t0, t1):
        """The longest time without output for p between t0 and t1 (the
        restart window widened by the output interval on both sides)."""
        ts = [t for t in self.times[id(p)] if t0 <= t <= t1]
        if len(ts) < 2:
            return t1 - t0
        return max(b - a for a, b in zip(ts, ts[1:]))


def read_bytes(path):
    with open(path, 'rb') as f:
        return f.read()
