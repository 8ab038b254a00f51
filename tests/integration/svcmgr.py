"""A small service manager for tests, standing in for systemd as PID 1 (which
cannot run on these machines). It implements exactly the documented parts of
the protocol sessrecd relies on, so the daemon's real libsystemd calls are
exercised:

- socket activation (sd_listen_fds(3)): the listening SOCK_SEQPACKET socket
  and the stored fds are passed from fd 3 on, with LISTEN_PID, LISTEN_FDS and
  LISTEN_FDNAMES (the socket is named after its unit, "sessrecd.socket");
- $NOTIFY_SOCKET (sd_notify(3)): an AF_UNIX datagram socket with SO_PASSCRED;
  READY=1, STATUS=, STOPPING=1, WATCHDOG=1 are recorded; FDSTORE=1 with
  FDNAME= keeps the SCM_RIGHTS fds (FileDescriptorStoreMax= enforced, a name
  may repeat), FDSTOREREMOVE=1 with FDNAME= closes and forgets them, and, as
  systemd does, messages from any pid but the main pid are ignored;
- restart: the stored fds are handed to the next start of the service;
  a stop (stop_unit) closes them, as systemd does when a unit goes inactive
  without FileDescriptorStorePreserve=;
- $FDSTORE is set to FileDescriptorStoreMax=, as systemd >= 254 does.
"""
import array
import os
import select
import signal
import socket
import struct
import threading
import time

SCM_CREDENTIALS = 2


class ServiceManager:
    def __init__(self, argv, sock_path, workdir, fdstore_max=4096, env=None, log=None):
        self.argv = list(argv)
        self.sock_path = sock_path
        self.fdstore_max = fdstore_max
        self.env = dict(env or os.environ)
        self.log = log
        self.store = []          # [(name, fd)] in arrival order, as systemd keeps them
        self.notices = []        # every notify message, as text
        self.ready = threading.Event()
        self.pid = None
        self.lock = threading.Lock()
        if os.path.exists(sock_path):
            os.unlink(sock_path)
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.listener.bind(sock_path)
        os.chmod(sock_path, 0o666)
        self.listener.listen(128)
        self.notify_path = os.path.join(workdir, 'notify.sock')
        if os.path.exists(self.notify_path):
            os.unlink(self.notify_path)
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.notify.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.notify.bind(self.notify_path)
        self._stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    # -- notify socket -------------------------------------------------
    def _serve(self):
        fdsize = array.array('i').itemsize
        while not self._stop:
            r, _, _ = select.select([self.notify], [], [], 0.1)
            if not r:
                continue
            try:
                msg, anc, flags, _ = self.notify.recvmsg(
                    4096, socket.CMSG_SPACE(253 * fdsize) + socket.CMSG_SPACE(12))
            except OSError:
                continue
            fds, pid = [], None
            for level, typ, data in anc:
                if level == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
                    a = array.array('i')
                    a.frombytes(data[:len(data) - len(data) % fdsize])
                    fds.extend(a)
                elif level == socket.SOL_SOCKET and typ == SCM_CREDENTIALS:
                    pid = struct.unpack('iII', data[:12])[0]
            self._handle(msg.decode(errors='replace'), fds, pid, flags)

    def _handle(self, text, fds, pid, flags):
        with self.lock:
            if pid is None or pid != self.pid or flags & socket.MSG_CTRUNC:
                for fd in fds:           # systemd ignores other senders
                    os.close(fd)
                return
            self.notices.append(text)
            kv = dict(l.split('=', 1) for l in text.split('\n') if '=' in l)
            name = kv.get('FDNAME', 'stored')
            if kv.get('FDSTORE') == '1':
                for fd in fds:
                    if len(self.store) >= self.fdstore_max:
                        os.close(fd)
                    else:
                        self.store.append((name, fd))
                fds = []
            if kv.get('FDSTOREREMOVE') == '1':
                keep = []
                for n, fd in self.store:
                    if n == name:
                        os.close(fd)
                    else:
                        keep.append((n, fd))
                self.store = keep
            for fd in fds:
                os.close(fd)
            if kv.get('READY') == '1':
                self.ready.set()

    # -- the service ---------------------------------------------------
    def start(self, timeout=10):
        self.ready.clear()
        with self.lock:
            passed = [self.listener.fileno()] + [fd for _, fd in self.store]
            names = ['sessrecd.socket'] + [n for n, _ in self.store]
        pid = os.fork()
        if pid == 0:
            try:
                if self.log is not None:   # before the fds move over it
                    os.dup2(self.log.fileno(), 1)
                    os.dup2(self.log.fileno(), 2)
                # Move the fds to 3.. without clobbering each other.
                high = [os.dup(fd) for fd in passed]
                for i, fd in enumerate(high):
                    os.dup2(fd, 3 + i, inheritable=True)
                os.closerange(3 + len(high), 65536)
                env = dict(self.env)
                env.update(LISTEN_PID=str(os.getpid()), LISTEN_FDS=str(len(high)),
                           LISTEN_FDNAMES=':'.join(names), NOTIFY_SOCKET=self.notify_path,
                           FDSTORE=str(self.fdstore_max))
                os.execve(self.argv[0], self.argv, env)
            finally:
                os._exit(127)
        with self.lock:
            self.pid = pid
        ok = self.ready.wait(timeout)
        return ok

    def stop(self, sig=signal.SIGTERM, timeout=10):
        if not self.pid:
            return None
        try:
            os.kill(self.pid, sig)
        except ProcessLookupError:
            pass
        end = time.time() + timeout
        while time.time() < end:
            p, st = os.waitpid(self.pid, os.WNOHANG)
            if p:
                with self.lock:
                    self.pid = None
                return os.waitstatus_to_exitcode(st)
            time.sleep(0.02)
        os.kill(self.pid, signal.SIGKILL)
        _, st = os.waitpid(self.pid, 0)
        with self.lock:
            self.pid = None
        return os.waitstatus_to_exitcode(st)

    def stop_unit(self, sig=signal.SIGTERM, timeout=10):
        """systemctl stop: the service stops and its fd store is emptied."""
        rc = self.stop(sig, timeout)
        self.release_store()
        return rc

    def release_store(self):
        with self.lock:
            for _, fd in self.store:
                os.close(fd)
            self.store = []

    def restart(self, sig=signal.SIGTERM):
        self.stop(sig)
        return self.start()

    def stored_names(self):
        with self.lock:
            return [n for n, _ in self.store]

    def close(self):
        if self.pid:
            self.stop()
        self._stop = True
        self.thread.join()
        with self.lock:
            for _, fd in self.store:
                os.close(fd)
            self.store = []
        self.listener.close()
        self.notify.close()
        for p in (self.sock_path, self.notify_path):
            try:
                os.unlink(p)
            except FileNotFoundError:
                pass
