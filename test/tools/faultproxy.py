#!/usr/bin/python3
"""faultproxy.py: a fault-injecting proxy for HAProxy's stats socket (stdlib).

    faultproxy.py --listen PATH --upstream PATH --control PATH

Listens on the unix socket --listen and forwards every connection to the
unix socket --upstream (HAProxy's stats socket). What it does to a
connection is chosen by the mode current when the connection is accepted;
the mode is switched at run time through the control socket --control, one
line per command, answered with one line:

    mode pass                 forward unchanged (the default)
    mode delay MS             read the command, wait MS ms, then forward it
    mode drip MS              forward, sending the reply one byte every MS ms
    mode stall                read the command; never answer, never close
                              (closes only once the client does)
    mode truncate             forward, then send the reply cut in the middle
                              of a line and close
    mode garbage              forward, with garbage lines (wrong field count,
                              control bytes) put into every CSV output
    mode oversize [BYTES]     answer one line of BYTES (default 40 MB) bytes,
                              all at once (made when the mode is set)
    mode stopping             forward, with "Stopping: 0" in show info
                              turned into "Stopping: 1" (an old process)
    mode reset                wait for the command, then close without
                              reading it (SO_LINGER 0); on a unix socket the
                              kernel reports ECONNRESET to the peer
    mode refuse               close the listening socket, leaving a socket
                              file nobody listens on (ECONNREFUSED: what a
                              killed HAProxy leaves behind)
    mode vanish               close the listening socket and remove its path
                              (any other mode brings it back)
    stats                     JSON: connections accepted, per mode

Replies: "ok" or "error <why>". Prints "ready" on stdout once it listens;
SIGTERM stops it.
"""
import argparse
import json
import os
import selectors
import signal
import socket
import struct
import sys
import threading
import time

MODES = ("pass", "delay", "drip", "stall", "truncate", "garbage", "oversize",
         "stopping", "reset", "refuse", "vanish")
MAX_REPLY = 256 << 20		# what the proxy buffers from HAProxy
IO_TIMEOUT = 30.0
GARBAGE = (b"garbage\x01line;;\xff\xfe,with,too,few,fields\n"
           b"#not a header either\n")


class Proxy:

    def __init__(self, listen, upstream, control):
        self.listen_path = listen
        self.upstream = upstream
        self.control_path = control
        self.lock = threading.Lock()
        self.mode = ("pass", None)
        self.accepted = {}
        self.lsock = None
        self.sel = selectors.DefaultSelector()
        self.oversize = None	# cached payload

    # ---- listening socket ----

    def open_listener(self):
        if self.lsock is not None:
            return
        try:
            os.unlink(self.listen_path)
        except FileNotFoundError:
            pass
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(self.listen_path)
        os.chmod(self.listen_path, 0o666)
        s.listen(512)
        s.setblocking(False)
        self.lsock = s
        self.sel.register(s, selectors.EVENT_READ, self.on_accept)

    def close_listener(self):
        if self.lsock is None:
            return
        self.sel.unregister(self.lsock)
        self.lsock.close()
        self.lsock = None
        try:
            os.unlink(self.listen_path)
        except FileNotFoundError:
            pass

    # ---- control ----

    def on_control_accept(self, lsock):
        try:
            c, _ = lsock.accept()
        except BlockingIOError:
            return
        c.settimeout(5)
        try:
            line = b""
            while not line.endswith(b"\n"):
                chunk = c.recv(1024)
                if not chunk:
                    break
                line += chunk
            c.sendall((self.command(line.decode().strip()) + "\n").encode())
        except OSError:
            pass
        finally:
            c.close()

    def command(self, line):
        words = line.split()
        if words == ["stats"]:
            with self.lock:
                return json.dumps({"mode": self.mode[0],
                                   "accepted": dict(self.accepted)})
        if len(words) < 2 or words[0] != "mode" or words[1] not in MODES:
            return "error unknown command %r" % line
        name, arg = words[1], None
        try:
            if name in ("delay", "drip"):
                arg = int(words[2]) / 1000.0
            elif name == "oversize":
                arg = int(words[2]) if len(words) > 2 else 40 << 20
        except (IndexError, ValueError):
            return "error %s needs a number" % name
        if name == "oversize" and (self.oversize is None or
                                   len(self.oversize) != arg):
            # Made now, not when a client asks: the reply goes out at once.
            self.oversize = b"x" * (arg - 3) + b"\n\n\n"
        with self.lock:
            self.mode = (name, arg)
        if name == "vanish":
            self.close_listener()
        elif name == "refuse":
            self.close_listener()
            dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            dead.bind(self.listen_path)	# a socket file, never listening
            dead.close()
        else:
            self.open_listener()
        return "ok"

    # ---- connections ----

    def on_accept(self, lsock):
        for _ in range(64):
            try:
                c, _ = lsock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            with self.lock:
                mode = self.mode
                self.accepted[mode[0]] = self.accepted.get(mode[0], 0) + 1
            c.setblocking(True)
            threading.Thread(target=self.serve, args=(c, mode),
                             daemon=True).start()

    def serve(self, c, mode):
        try:
            self._serve(c, *mode)
        except OSError:
            pass
        finally:
            c.close()

    @staticmethod
    def read_command(c):
        """The client's command line (up to "\\n"), or None on EOF."""
        c.settimeout(IO_TIMEOUT)
        data = b""
        while b"\n" not in data:
            chunk = c.recv(65536)
            if not chunk:
                return None
            data += chunk
        return data

    def ask_upstream(self, cmd):
        """Send cmd to HAProxy, return its whole reply (b"" if it cannot
        be reached: the client then sees a connection closed empty)."""
        u = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        u.settimeout(IO_TIMEOUT)
        try:
            u.connect(self.upstream)
            u.sendall(cmd)
            out = []
            n = 0
            while n < MAX_REPLY:
                chunk = u.recv(1 << 20)
                if not chunk:
                    break
                out.append(chunk)
                n += len(chunk)
            return b"".join(out)
        except OSError:
            return b""
        finally:
            u.close()

    def _serve(self, c, mode, arg):
        if mode == "reset":
            # Wait until the command is in our receive queue, leave it
            # there and close: unread data makes the kernel report
            # ECONNRESET to the peer (the unix-socket form of a reset).
            sel = selectors.DefaultSelector()
            sel.register(c, selectors.EVENT_READ)
            sel.select(IO_TIMEOUT)
            sel.close()
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                         struct.pack("ii", 1, 0))
            return
        cmd = self.read_command(c)
        if cmd is None:
            return
        if mode == "stall":
            c.settimeout(None)
            while c.recv(65536):	# until the client gives up
                pass
            return
        if mode == "oversize":
            c.sendall(self.oversize)	# made by "mode oversize"
            return
        if mode == "delay":
            time.sleep(arg)
        reply = self.ask_upstream(cmd)
        if mode == "drip":
            for i in range(len(reply)):
                c.sendall(reply[i:i + 1])
                time.sleep(arg)
            return
        if mode == "truncate":
            reply = cut_mid_line(reply)
        elif mode == "garbage":
            reply = add_garbage(reply)
        elif mode == "stopping":
            reply = reply.replace(b"\nStopping: 0\n", b"\nStopping: 1\n")
        c.sendall(reply)

    def run(self):
        try:
            os.unlink(self.control_path)
        except FileNotFoundError:
            pass
        ctl = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        ctl.bind(self.control_path)
        ctl.listen(16)
        ctl.setblocking(False)
        self.sel.register(ctl, selectors.EVENT_READ, self.on_control_accept)
        self.open_listener()
        print("ready", flush=True)
        while True:
            for key, _ in self.sel.select(1.0):
                key.data(key.fileobj)


def cut_mid_line(reply):
    """reply cut in the middle of a line (at least one byte of it, and no
    newline right before the cut)."""
    if len(reply) < 4:
        return reply[:1]
    cut = len(reply) // 2
    while cut > 1 and (reply[cut - 1:cut] == b"\n" or
                       reply[cut:cut + 1] == b"\n"):
        cut -= 1
    return reply[:cut]


def add_garbage(reply):
    """Garbage lines after the header of every CSV output (show stat)."""
    out = []
    for part in reply.split(b"\n\n"):
        if part.startswith(b"# pxname"):
            head, sep, rest = part.partition(b"\n")
            part = head + sep + GARBAGE + rest
        out.append(part)
    return b"\n\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--listen", required=True)
    ap.add_argument("--upstream", required=True)
    ap.add_argument("--control", required=True)
    a = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        Proxy(a.listen, a.upstream, a.control).run()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
