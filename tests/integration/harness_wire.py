"""The daemon's wire protocol spoken by hand (sessrecd(8), "Requests and trust"):
SOCK_SEQPACKET, one JSON object per message, fds by SCM_RIGHTS."""
import json
import os
import socket

PROTO_MSG_MAX = 4096


def connect(path, timeout=5.0):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    try:
        s.settimeout(timeout)
        s.connect(path)
    except BaseException:
        s.close()
        raise
    return s


def send_raw(s, data, fds=()):
    if fds:
        return socket.send_fds(s, [data], list(fds))
    return s.send(data)


def recv_reply(s, timeout=5.0):
    """One reply as a dict; raises on timeout or if the peer closed."""
    s.settimeout(timeout)
    data = s.recv(65536)
    if not data:
        raise ConnectionError('daemon closed the connection without a reply')
    return json.loads(data)


def peer_closed(s, timeout=3.0):
    """True once the daemon has closed its end (EOF within timeout)."""
    s.settimeout(timeout)
    try:
        return s.recv(65536) == b''
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def call(path, req, fds=(), timeout=5.0):
    with connect(path, timeout) as s:
        send_raw(s, json.dumps(req).encode(), fds)
        return recv_reply(s, timeout)


def audit_session():
    try:
        with open('/proc/self/sessionid') as f:
            return int(f.read())
    except (OSError, ValueError):
        return None


def open_session(path, user='root', uid=0, pid=None, service='sshd', proto='ssh',
                 tty=None, rhost='127.0.0.1', rport=50022, **extra):
    """`open` as pam_sessrec sends it; the reply as a dict."""
    req = {'op': 'open', 'user': user, 'uid': uid, 'service': service, 'proto': proto,
           'rhost': rhost, 'rport': rport, 'pid': os.getpid() if pid is None else pid,
           'input': True}
    sess = audit_session()
    if sess is not None:
        req['sessionid'] = sess
    if tty:
        req['tty'] = tty
    req.update(extra)
    return call(path, req)


def close_session(path, sid, timeout=30.0):
    return call(path, {'op': 'close', 'sid': sid}, timeout=timeout)
