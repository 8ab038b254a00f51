#!/usr/bin/env python3
"""demo-pty.py: the demo's typist. Runs a command on a fresh 80x24 pty,
shows everything it prints as it comes, types the scripted answers to what
it waits for, and exits with the command's exit status (124 if something
never came). A pty of its own, not the caller's terminal, so the demo runs
the same from a terminal and in CI (no tty, no stdin). Python 3 stdlib only.

Usage: demo-pty.py [--expect REGEX --type LINE]... -- COMMAND [ARG]...
(each LINE is typed, then Return, once REGEX has appeared since the last).
Every step, and the end after the last, has 20 seconds."""
import fcntl
import os
import re
import select
import signal
import struct
import sys
import termios
import time

TIMEOUT = 20.0


def main():
    args = sys.argv[1:]
    steps = []
    while args and args[0] != '--':
        if len(args) < 4 or args[0] != '--expect' or args[2] != '--type':
            sys.exit(__doc__)
        steps.append((re.compile(args[1].encode()), args[3].encode() + b'\r'))
        args = args[4:]
    argv = args[1:]
    if not argv:
        sys.exit(__doc__)
    fd, slave = os.openpty()
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', 24, 80, 0, 0))
    pid = os.fork()
    if pid == 0:
        os.setsid()
        fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
        for i in (0, 1, 2):
            os.dup2(slave, i)
        os.close(fd)
        os.close(slave)
        try:
            os.execvp(argv[0], argv)
        finally:
            os._exit(127)
    os.close(slave)
    seen, deadline = b'', time.time() + TIMEOUT
    while True:
        if time.time() > deadline:
            sys.stdout.flush()
            what = repr(steps[0][0].pattern.decode()) if steps else 'the end'
            sys.stderr.write('\ndemo-pty: timed out waiting for %s\n' % what)
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            sys.exit(124)
        r, _, _ = select.select([fd], [], [], 0.5)
        if not r:
            continue
        try:
            data = os.read(fd, 65536)
        except OSError:  # EIO: the last holder of the pty's slave side is gone
            break
        if not data:
            break
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        seen += data
        if steps:
            m = steps[0][0].search(seen)
            if m:
                time.sleep(0.15)  # at a typist's pace, so the replay reads well
                os.write(fd, steps[0][1])
                seen = seen[m.end():]
                steps.pop(0)
                deadline = time.time() + TIMEOUT
    status = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    if steps:
        sys.stderr.write('\ndemo-pty: the command ended before %r\n' % steps[0][0].pattern.decode())
        sys.exit(124)
    sys.exit(status if status >= 0 else 128 - status)


if __name__ == '__main__':
    main()
