"""Bad protocol input (not JSON, oversized, unknown op, wrong fd counts, fds
where none belong) is answered with one error and the connection closed,
every fd sent is closed by the daemon, and a session running meanwhile keeps
running and recording. The daemon leaks no fd over many sessions and bad
connections, and all its own fds are close-on-exec."""
import json
import os
import select
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

TICKS = 80
TICKER = "i=1; while [ $i -le %d ]; do echo tick$i; i=$((i+1)); sleep 0.05; done; exit 4" % TICKS
O_CLOEXEC = 0o2000000


def pipes(n):
    """n pipes; returns (read ends, write ends)."""
    rs, ws = [], []
    for _ in range(n):
        r, w = os.pipe()
        rs.append(r)
        ws.append(w)
    return rs, ws


def all_closed_by_peer(read_ends, timeout=3.0):
    """True when every write end we sent (our copies closed) was closed by
    the daemon: each read end reaches EOF."""
    end = time.time() + timeout
    left = set(read_ends)
    while left and time.time() < end:
        r, _, _ = select.select(list(left), [], [], 0.1)
        for fd in r:
            if os.read(fd, 1) == b'':
                left.discard(fd)
    return not left


class ProtocolTest(unittest.TestCase):
    def setUp(self):
        self.d = h.Daemon()
        self.addCleanup(self.d.cleanup)
        self.opened = []

    def token(self):
        """A fresh token; its session is closed once the request was sent."""
        r = h.open_session(self.d.sock)
        self.assertTrue(r.get('ok'), r)
        self.opened.append(r['sid'])
        return r['token']

    def bad_requests(self):
        """(name, payload bytes or a function making them, number of fds to send)."""
        pad = 'x' * 5000
        return [
            ('not JSON', b'this is not json', 0),
            ('truncated JSON', b'{"op":"ping"', 0),
            ('JSON array', b'[1,2,3]', 0),
            ('no op', b'{}', 0),
            ('op not a string', b'{"op":5}', 0),
            ('5000 bytes', json.dumps({'op': 'ping', 'pad': pad}).encode(), 0),
            ('5000 bytes with fds', json.dumps({'op': 'ping', 'pad': pad}).encode(), 2),
            ('unknown op', b'{"op":"frobnicate"}', 0),
            ('unknown op with fds', b'{"op":"frobnicate"}', 2),
            ('attach, 0 fds', self.attach_req, 0),
            ('attach, 1 fd', self.attach_req, 1),
            ('attach, 2 fds', self.attach_req, 2),
            ('attach, 3 fds', self.attach_req, 3),
            ('attach, 6 fds', self.attach_req, 6),
            ('ping with an fd', b'{"op":"ping"}', 1),
            ('open with an fd', json.dumps({'op': 'open', 'user': 'root', 'uid': 0, 'service': 'sshd',
                                            'pid': os.getpid()}).encode(), 1),
        ]

    def attach_req(self):
        # A valid, unused token: only the fd count is wrong.
        return json.dumps({'op': 'attach', 'token': self.token(), 'term': 'xterm',
                           'shell': '/bin/sh'}).encode()

    def send_bad(self, name, payload, nfds):
        if callable(payload):
            payload = payload()
        rs, ws = pipes(nfds)
        try:
            with h.connect(self.d.sock) as s:
                h.send_raw(s, payload, ws)
                for w in ws:
                    os.close(w)
                ws = []
                reply = h.recv_reply(s)
                self.assertIs(reply.get('ok'), False, '%s: accepted: %r' % (name, reply))
                err = reply.get('error')
                self.assertTrue(isinstance(err, str) and err and '\n' not in err,
                                '%s: no one-line error: %r' % (name, reply))
                self.assertTrue(h.peer_closed(s), '%s: connection left open' % name)
            self.assertTrue(all_closed_by_peer(rs), '%s: the daemon kept an fd we sent' % name)
        finally:
            for fd in rs + ws:
                os.close(fd)
            while self.opened:
                h.close_session(self.d.sock, self.opened.pop())

    def test_bad_messages_while_a_session_records(self):
        p = h.record(self.d.sock, TICKER)
        self.addCleanup(p.finish)
        p.expect(rb'tick1\r\n')
        for name, payload, nfds in self.bad_requests():
            with self.subTest(name):
                self.send_bad(name, payload, nfds)
                self.assertTrue(self.d.running(), 'sessrecd died on: %s' % name)
                self.assertTrue(h.call(self.d.sock, {'op': 'ping'}).get('ok'), 'no ping after %s' % name)
        self.assertFalse(p.closed or p.poll() is not None, 'the session ended while bad input came in')
        self.assertEqual(p.wait(30), 4)
        want = b''.join(b'tick%d\r\n' % i for i in range(1, TICKS + 1))
        self.assertEqual(p.out, want, 'the session\'s terminal lost or changed bytes')
        lines = self.d.lines()
        h.check_shard_sane(self, lines)
        sids = h.sids_with_output(lines, b'tick1\r\n')
        self.assertEqual(len(sids), 1)
        self.assertEqual(h.channel_bytes(lines, sids[0], 'o'), want, 'the recording lost or changed bytes')

    def test_no_fd_leak(self):
        def session(tag):
            p = h.record(self.d.sock, 'echo %s; exit 0' % tag)
            self.addCleanup(p.finish)
            return p

        warm = session('warm-up')
        self.assertEqual(warm.wait(15), 0)
        # The baseline once the warm-up's connections are gone: the daemon
        # closes them when it sees their end, a moment after the client's.
        h.wait_for(lambda: h.call(self.d.sock, {'op': 'list'}).get('sessions') == [], 10)
        base, prev = None, None
        for _ in range(50):
            base = h.fd_targets(self.d.pid)
            if base == prev:
                break
            prev = base
            time.sleep(0.1)
        for _ in range(3):
            ps = [session('run-%d' % i) for i in range(8)]
            self.assertTrue(h.pump_all(ps, lambda: all(p.status is not None for p in ps), 30))
            self.assertEqual([p.status for p in ps], [0] * 8)
            for name, payload, nfds in self.bad_requests():
                self.send_bad(name, payload, nfds)
            for _ in range(5):
                s = h.connect(self.d.sock)   # connect and vanish
                s.close()
                s = h.connect(self.d.sock)   # send and vanish without reading
                s.send(b'{"op":"ping"}')
                s.close()
            r = h.open_session(self.d.sock)  # registered, never attached
            h.close_session(self.d.sock, r['sid'])
        r = h.call(self.d.sock, {'op': 'list'})
        self.assertEqual(r.get('sessions'), [], 'sessions left: %r' % r)
        h.wait_for(lambda: len(h.fd_targets(self.d.pid)) <= len(base), 5)
        now = h.fd_targets(self.d.pid)
        self.assertEqual(len(now), len(base), 'daemon fds before:\n%s\nafter:\n%s'
                         % (sorted(base.values()), sorted(now.values())))
        for fd in now:
            if fd > 2:
                flags = h.fd_flags(self.d.pid, fd)
                self.assertTrue(flags is not None and flags & O_CLOEXEC,
                                'daemon fd %d (%s) is not close-on-exec' % (fd, now[fd]))


if __name__ == '__main__':
    unittest.main(verbosity=2)
