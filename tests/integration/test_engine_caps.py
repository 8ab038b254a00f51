"""One user cannot starve the others (sessrecd.conf(5), MaxSessionsPerUser=):
registrations opened as pam_sessrec opens them (uid 0 on the socket,
speaking for a user) are capped per user, one user never takes the last
sixteenth of MaxSessions=, and a registration nobody attaches within
TokenTimeoutSec= raises session_unattached at once, while its login (the
opener) is still alive, and stops holding a slot."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

ALICE = {'user': 'alice', 'uid': 4001}
BOB = {'user': 'bob', 'uid': 4002}
CAROL = {'user': 'carol', 'uid': 4003}


def sd(e):
    return e['sd']['relay@55555']


class Caps(unittest.TestCase):
    conf = {}

    def setUp(self):
        self.d = h.Daemon(self.conf)
        self.addCleanup(self.d.cleanup)

    def opened(self, who):
        r = h.open_session(self.d.sock, **who)
        self.assertIs(r.get('ok'), True, 'open for %s refused: %r' % (who['user'], r))
        return r['sid']

    def refused(self, who, skipped, words):
        r = h.open_session(self.d.sock, **who)
        self.assertIs(r.get('ok'), False, 'open for %s let in: %r' % (who['user'], r))
        self.assertEqual(r.get('skipped'), skipped, r)
        err = r.get('error')
        self.assertIsInstance(err, str)
        self.assertNotIn('\n', err)
        self.assertIn(words, err)
        return r

    def skipped_events(self, user):
        return [sd(e) for e in self.d.events('session_skipped') if sd(e).get('user') == user]


class PerUserCapTest(Caps):
    conf = {'Daemon': {'MaxSessionsPerUser': '3'}}

    def test_cap_per_user(self):
        mine = [self.opened(ALICE) for _ in range(3)]
        self.refused(ALICE, 'user_session_limit', 'MaxSessionsPerUser=3')
        ev = self.d.wait_event('session_skipped')
        self.assertEqual([e.get('reason') for e in self.skipped_events('alice')], ['user_session_limit'], ev)
        # another user still gets in, and so does root (not capped)
        bob = self.opened(BOB)
        roots = [self.opened({'user': 'root', 'uid': 0}) for _ in range(5)]
        # a slot given back is a slot to take again
        self.assertEqual(h.close_session(self.d.sock, mine.pop()).get('state'), 'unattached')
        mine.append(self.opened(ALICE))
        self.refused(ALICE, 'user_session_limit', 'MaxSessionsPerUser=3')
        for sid in mine + [bob] + roots:
            self.assertEqual(h.close_session(self.d.sock, sid).get('state'), 'unattached')


class ReserveTest(Caps):
    # a sixteenth of 4, rounded up: one session is kept for other users
    conf = {'Daemon': {'MaxSessions': '4', 'MaxSessionsPerUser': '16'}}

    def test_headroom_for_others(self):
        for _ in range(3):
            self.opened(ALICE)
        self.refused(ALICE, 'user_session_limit', 'kept for other users')
        self.opened(BOB)
        # now the daemon is full for everyone
        self.refused(CAROL, 'session_limit', 'MaxSessions=4')
        self.assertEqual([e.get('reason') for e in self.skipped_events('alice')], ['user_session_limit'])
        self.assertEqual([e.get('reason') for e in self.skipped_events('carol')], ['session_limit'])


class UnattachedExpiryTest(Caps):
    conf = {'Daemon': {'MaxSessionsPerUser': '2', 'TokenTimeoutSec': '1'}}

    def test_unattached_registrations_expire_with_an_alert(self):
        sids = [self.opened(ALICE) for _ in range(2)]
        self.refused(ALICE, 'user_session_limit', 'MaxSessionsPerUser=2')
        for sid in sids:
            ev = self.d.wait_event('session_unattached', sid, timeout=15)
            self.assertEqual(len(ev), 1, 'no session_unattached for %s: %s' % (sid, self.d.output()[-2000:]))
            self.assertEqual(sd(ev[0]).get('kind'), 'token_expired')
            self.assertEqual(sd(ev[0]).get('user'), 'alice')
        # the opener (this process) is alive: the alert did not wait for the logout
        self.assertTrue(os.path.exists('/proc/%d' % os.getpid()))
        listed = {s['sid']: s['state'] for s in h.call(self.d.sock, {'op': 'list'})['sessions']}
        self.assertEqual([listed.get(sid) for sid in sids], ['unattached', 'unattached'], listed)
        # expired registrations hold no slot
        again = [self.opened(ALICE) for _ in range(2)]
        self.refused(ALICE, 'user_session_limit', 'MaxSessionsPerUser=2')
        # PAM's close at the logout hears "unattached" and raises no second alert
        for sid in sids:
            self.assertEqual(h.close_session(self.d.sock, sid).get('state'), 'unattached')
        for sid in sids:
            self.assertEqual(len(self.d.events('session_unattached', sid)), 1)
        for sid in again:
            self.d.wait_event('session_unattached', sid, timeout=15)
            self.assertEqual(h.close_session(self.d.sock, sid).get('state'), 'unattached')

    def test_attach_after_expiry_says_token_expired(self):
        r = h.open_session(self.d.sock, user='root', uid=0)
        self.assertIs(r.get('ok'), True, r)
        self.d.wait_event('session_unattached', r['sid'], timeout=15)
        pipes = [os.pipe() for _ in range(3)]  # a command attach carries stdin, stdout, stderr
        late = h.call(self.d.sock, {'op': 'attach', 'token': r['token'], 'cmd': 'true'},
                      fds=[pipes[0][0], pipes[1][1], pipes[2][1]])
        for p in pipes:
            os.close(p[0])
            os.close(p[1])
        self.assertIs(late.get('ok'), False, late)
        self.assertEqual(late.get('error'), 'token expired')
        self.assertEqual(h.close_session(self.d.sock, r['sid']).get('state'), 'unattached')


if __name__ == '__main__':
    unittest.main(verbosity=2)
