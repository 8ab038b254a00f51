"""Shared helpers for the integration tests: a private sessrecd on temporary
paths (syslog to stdout, captured), plus everything from harness_proc
(binaries, reaper, namespaces), harness_wire (the protocol by hand),
harness_records (shards, RFC 5424) and harness_term (ptys), so tests need
only `import harness as h`. Python 3 stdlib only."""
import os
import shutil
import signal
import subprocess
import time

from harness_proc import *  # noqa: F401,F403
from harness_proc import _pids, binary, register, tmpdir  # noqa: F401
from harness_wire import *  # noqa: F401,F403
from harness_wire import call
from harness_records import *  # noqa: F401,F403
from harness_records import events, session_lines, shard_lines
from harness_term import *  # noqa: F401,F403

def write_config(path, sections):
    with open(path, 'w') as f:
        for sec, kv in sections.items():
            f.write('[%s]\n' % sec)
            for k, v in kv.items():
                f.write('%s=%s\n' % (k, v))
            f.write('\n')


class Daemon:
    """sessrecd on temporary paths, --foreground, events to stdout (captured
    in a file). conf: {section: {key: value}}. flags=False leaves the socket,
    shard directory and syslog targets to the configuration file."""

    def __init__(self, conf=None, syslog='stdout', flags=True, argv_prefix=None, socket_flag=True,
                 env=None, start=True):
        self.tmp = tmpdir()
        self.sock = os.path.join(self.tmp, 's.sock')
        self.shards = os.path.join(self.tmp, 'shards')
        self.state = os.path.join(self.tmp, 'state')
        self.conf_path = os.path.join(self.tmp, 'd.conf')
        self.conf = {'Daemon': {'StateDirectory': self.state}}
        for sec, kv in (conf or {}).items():
            self.conf.setdefault(sec, {}).update(kv)
        write_config(self.conf_path, self.conf)
        self.out_path = os.path.join(self.tmp, 'daemon.out')
        self.bin = binary('sessrecd')
        argv = [self.bin, '--foreground', '--config', self.conf_path]
        if flags:
            if socket_flag:
                argv += ['--socket', self.sock]
            argv += ['--shard-dir', self.shards]
            if syslog:
                argv += ['--syslog', syslog]
        self.argv = (argv_prefix or []) + argv
        self.env = env
        self.p = None
        if start:
            self.start()

    def start(self, wait=True):
        out = open(self.out_path, 'ab')
        self.p = subprocess.Popen(self.argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                  env=self.env)
        out.close()
        register(self.p.pid, 'sessrecd')
        if wait:
            self.wait_ready()

    def wait_ready(self, timeout=10.0):
        end = time.time() + timeout
        last = None
        while time.time() < end:
            if self.p.poll() is not None:
                raise RuntimeError('sessrecd exited with %s: %s' % (self.p.returncode, self.output()[-800:]))
            try:
                r = call(self.sock, {'op': 'ping'}, timeout=2)
                if r.get('ok'):
                    return r
                last = r
            except (OSError, ValueError) as e:
                last = e
            time.sleep(0.05)
        raise RuntimeError('sessrecd not answering ping on %s (%s): %s' % (self.sock, last, self.output()[-800:]))

    @property
    def pid(self):
        return self.p.pid

    def output(self):
        with open(self.out_path, 'rb') as f:
            return f.read().decode('utf-8', 'replace')

    def events(self, msgid=None, sid=None):
        return events(self.output(), msgid, sid)

    def wait_event(self, msgid, sid=None, timeout=5.0, count=1):
        end = time.time() + timeout
        while True:
            ev = self.events(msgid, sid)
            if len(ev) >= count or time.time() > end:
                return ev
            time.sleep(0.05)

    def lines(self):
        return shard_lines(self.shards)

    def wait_end(self, sid, timeout=10.0):
        """The session's end line, once written (None after timeout)."""
        end = time.time() + timeout
        while True:
            for o in session_lines(self.lines(), sid):
                if 'end' in o:
                    return o
            if time.time() > end:
                return None
            time.sleep(0.05)

    def reconfigure(self, sections):
        for sec, kv in sections.items():
            self.conf.setdefault(sec, {}).update(kv)
        write_config(self.conf_path, self.conf)

    def running(self):
        return self.p is not None and self.p.poll() is None

    def stop(self, timeout=10.0):
        """SIGTERM and wait; returns the exit code."""
        if self.p is None:
            return None
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        _pids.pop(self.p.pid, None)
        return self.p.returncode

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)
