"""Socket activation: systemd-socket-activate --seqpacket hands sessrecd the
listening socket exactly as systemd does (LISTEN_FDS, LISTEN_PID,
LISTEN_FDNAMES); the connection that triggered the start is served, and a
session is recorded through the activated socket."""
import os
import shutil
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402


@unittest.skipUnless(shutil.which('systemd-socket-activate'), 'systemd-socket-activate not installed')
class SocketActivationTest(unittest.TestCase):
    def test_activated_socket(self):
        d = h.Daemon(start=False, socket_flag=False)
        sock = d.sock = os.path.join(d.tmp, 'activated.sock')
        d.argv = ['systemd-socket-activate', '--seqpacket', '-l', sock, '--fdname=sessrecd.socket'] + d.argv
        self.assertNotIn('--socket', d.argv)
        self.addCleanup(d.cleanup)
        d.start(wait=False)
        # The first connection is what starts sessrecd; it must be answered.
        # The path exists once bound, a moment before listen(): a refused
        # connect starts nothing, so it is tried again.
        self.assertTrue(h.wait_for(lambda: os.path.exists(sock), 5), 'no listening socket')
        r = None
        for _ in range(100):
            try:
                r = h.call(sock, {'op': 'ping'}, timeout=10)
                break
            except ConnectionRefusedError:
                time.sleep(0.05)
        self.assertIsNotNone(r, 'the activated socket never listened')
        self.assertIs(r.get('ok'), True, r)
        self.assertEqual(r.get('pid'), d.pid, 'ping answered by %r, not the activated daemon' % r.get('pid'))
        self.assertEqual(os.readlink('/proc/%d/exe' % d.pid), os.path.realpath(d.bin),
                         'the activated process is not sessrecd')
        p = h.record(sock, 'echo activated-$((40+2)); exit 6')
        self.addCleanup(p.finish)
        self.assertEqual(p.wait(15), 6)
        self.assertEqual(p.out, b'activated-42\r\n')
        lines = d.lines()
        h.check_shard_sane(self, lines)
        sids = h.sids_with_output(lines, b'activated-42\r\n')
        self.assertEqual(len(sids), 1)
        self.assertIn('end', h.session_lines(lines, sids[0])[-1])
        self.assertEqual(len(d.wait_event('session_recorded', sids[0])), 1)
        self.assertEqual(d.stop(), 0, d.output()[-500:])


if __name__ == '__main__':
    unittest.main(verbosity=2)
