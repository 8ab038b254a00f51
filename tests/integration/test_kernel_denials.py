"""Kernel denials attributed to sessions (issue 13): a real seccomp filter
(denyprobe: one denial logged, one kill) inside a session recorded through
`sessrecctl record` gives deny lines in that session's shard with the
syscall's name and the action, session_denied events and lines in
`sessrecctl show`; the same program outside every session appears nowhere;
two concurrent sessions each get only their own; a flood of denials is
summarised with exact counts while the daemon keeps answering. Read from
the audit multicast, and (KernelDenials through /dev/kmsg) from the kernel
log."""
import json
import os
import re
import socket
import struct
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

D = None
PROBE = None
PID_RX = re.compile(rb'denyprobe pid=(\d+) denied=(\d+)')


def setUpModule():
    global D, PROBE
    PROBE = h.binary('denyprobe')
    D = h.Daemon()


def tearDownModule():
    if D:
        D.cleanup()


def audit_lost():
    """The kernel's count of audit records it could not deliver
    (AUDIT_GET's "lost"), or None where it cannot be asked."""
    try:
        s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 9)
    except OSError:
        return None
    with s:
        s.settimeout(2)
        s.send(struct.pack('IHHII', 16, 1000, 0x5, 1, 0))  # AUDIT_GET, NLM_F_REQUEST|NLM_F_ACK
        while True:
            d = s.recv(65536)
            length, typ = struct.unpack('IH', d[:6])
            if typ == 1000:
                return struct.unpack('7I', d[16:16 + 28])[6]
            if typ == 2 and struct.unpack('i', d[16:20])[0] != 0:  # NLMSG_ERROR
                return None


def denies(lines, sid=None):
    return [o for _, o in lines if isinstance(o, dict) and 'deny' in o and (sid is None or o.get('sid') == sid)]


def record_probe(test, d, args, tag):
    """sessrecctl record of the probe; (sid, probe pid, pty)."""
    # the session outlives the probe a moment: a record read after the
    # session's end line has nowhere to go
    p = h.record(d.sock, '%s %s; echo %s-done; sleep 1' % (PROBE, args, tag))
    test.addCleanup(p.finish)
    p.expect(tag.encode() + b'-done', 30)
    m = PID_RX.search(p.out)
    test.assertIsNotNone(m, p.out[-300:])
    test.assertEqual(p.wait(20), 0)
    sids = h.sids_with_output(d.lines(), ('%s-done' % tag).encode())
    test.assertEqual(len(sids), 1)
    return sids[0], int(m.group(1)), p


class Denials(unittest.TestCase):
    def wait_denies(self, d, sid, pred, timeout=10):
        return h.wait_for(lambda: pred(denies(d.lines(), sid)) and denies(d.lines(), sid), timeout)

    def check_logged_and_killed(self, d):
        sid, pid, _ = record_probe(self, d, '--pause-ms 300 --kill', 'one')
        got = self.wait_denies(d, sid, lambda l: len(l) >= 2)
        self.assertTrue(got, 'no deny lines in the session: %r' % denies(d.lines()))
        dn = [o['deny'] for o in got]
        for x in dn:
            self.assertEqual((x['kind'], x['pid'], x['comm'], x['exe']), ('seccomp', pid, 'denyprobe', PROBE))
            self.assertIsInstance(got[0]['t'], float)
        self.assertEqual([(x['syscall_name'], x['action']) for x in dn],
                         [('getppid', 'errno'), ('getpgid', 'kill_process')])
        self.assertNotIn('sig', dn[0])
        self.assertEqual(dn[1]['sig'], 31)
        self.assertNotIn('count', dn[0])
        ev = d.wait_event('session_denied', sid=sid, count=2)
        params = [e['sd']['relay@55555'] for e in ev]
        self.assertEqual([(p['syscall_name'], p['action'], p['pid'], p['count']) for p in params],
                         [('getppid', 'errno', str(pid), '1'), ('getpgid', 'kill_process', str(pid), '1')])
        self.assertEqual(h.ctl('show', '--dir', d.shards, sid).returncode, 0)
        out = h.ctl('show', '--dir', d.shards, sid).stdout.decode()
        self.assertIn('deny  seccomp pid %d (denyprobe) syscall getppid (110) action errno' % pid, out)
        self.assertIn('deny  seccomp pid %d (denyprobe) syscall getpgid (121) action kill_process sig 31' % pid,
                      out)
        return sid

    def test_inside_and_outside(self):
        before = len(denies(D.lines()))
        outside = subprocess.run([PROBE, '--pause-ms', '100', '--kill'], capture_output=True, timeout=30)
        self.assertEqual(outside.returncode, -31)
        opid = int(PID_RX.search(outside.stdout).group(1))
        self.check_logged_and_killed(D)
        time.sleep(0.5)
        self.assertEqual([o for o in denies(D.lines()) if o['deny']['pid'] == opid], [])
        self.assertEqual(len(denies(D.lines())), before + 2)
        self.assertFalse([e for e in D.events('session_denied') if e['sd']['relay@55555']['pid'] == str(opid)])

    def test_two_sessions_each_their_own(self):
        a = h.record(D.sock, '%s --pause-ms 800; echo two-a-done' % PROBE)
        b = h.record(D.sock, '%s --pause-ms 800 --count 3; echo two-b-done' % PROBE)
        for p in (a, b):
            self.addCleanup(p.finish)
        a.expect(b'two-a-done', 30)
        b.expect(b'two-b-done', 30)
        self.assertEqual((a.wait(20), b.wait(20)), (0, 0))
        pa, pb = int(PID_RX.search(a.out).group(1)), int(PID_RX.search(b.out).group(1))
        sa = h.sids_with_output(D.lines(), b'two-a-done')[0]
        sb = h.sids_with_output(D.lines(), b'two-b-done')[0]
        self.assertTrue(self.wait_denies(D, sb, lambda l: sum(o['deny'].get('count', 1) for o in l) >= 3))
        self.assertEqual({o['deny']['pid'] for o in denies(D.lines(), sa)}, {pa})
        self.assertEqual({o['deny']['pid'] for o in denies(D.lines(), sb)}, {pb})
        self.assertEqual(sum(o['deny'].get('count', 1) for o in denies(D.lines(), sa)), 1)
        self.assertEqual(sum(o['deny'].get('count', 1) for o in denies(D.lines(), sb)), 3)

    def test_flood_is_summarised_exactly(self):
        n = 10000
        lost = audit_lost()
        p = h.record(D.sock, '%s --count %d --pause-ms 1500; echo flood-done' % (PROBE, n))
        self.addCleanup(p.finish)
        # the daemon answers while the denials pour in
        end = time.time() + 30
        while b'flood-done' not in p.out and time.time() < end:
            self.assertTrue(h.call(D.sock, {'op': 'ping'}, timeout=2).get('ok'))
            p.pump(0.1)
        self.assertEqual(p.wait(30), 0)
        self.assertEqual(int(PID_RX.search(p.out).group(2)), n)
        sid = h.sids_with_output(D.lines(), b'flood-done')[0]
        kernel_lost = (audit_lost() or 0) - (lost or 0)
        self.assertEqual(kernel_lost, 0, 'the kernel lost %d audit records: the count cannot be checked' % kernel_lost)
        got = self.wait_denies(D, sid, lambda l: sum(o['deny'].get('count', 1) for o in l) >= n, timeout=15)
        self.assertTrue(got, 'denials in the shard: %d of %d' % (
            sum(o['deny'].get('count', 1) for o in denies(D.lines(), sid)), n))
        time.sleep(1.5)
        got = denies(D.lines(), sid)
        self.assertEqual(sum(o['deny'].get('count', 1) for o in got), n)
        # a summary per second, not a line per denial
        self.assertLess(len(got), 2 * 10)
        self.assertTrue(all(len(json.dumps(o)) < 4096 for o in got))


class KmsgSource(Denials):
    """The same through /dev/kmsg, where the kernel prints audit records when
    no auditd runs (AuditNetlink=no)."""

    @classmethod
    def setUpClass(cls):
        cls.d = h.Daemon(conf={'Audit': {'AuditNetlink': 'no'}})

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()

    def test_inside_and_outside(self):
        # printk's limit (printk_ratelimit_burst in printk_ratelimit
        # seconds) may still be spent by the other tests' records
        time.sleep(5.5)
        self.check_logged_and_killed(self.d)

    test_two_sessions_each_their_own = None
    # printk rate-limits audit records in the kernel log (10 in 5 s): exact
    # counts under a flood need the audit multicast.
    test_flood_is_summarised_exactly = None


if __name__ == '__main__':
    unittest.main()
