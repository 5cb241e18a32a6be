#!/usr/bin/env python3
"""A real SMTP server for VisionFlow's delivery tests: aiosmtpd (PyPI) on 127.0.0.1.

Every message received is written whole (RFC 5322, as sent) to DIR/NNNNN.eml, atomically
(written under a temporary name, then renamed). Prints `READY <port>` once listening and
serves until killed. `--port 0` picks a free port.

    python scripts/smtp_sink.py --dir /tmp/mail [--port 2525]
"""
import argparse
import itertools
import os
import signal
import socket
import sys
import threading

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, directory):
        self.directory = directory
        self.counter = itertools.count()
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            n = next(self.counter)
        tmp = os.path.join(self.directory, f".{n:05d}.tmp")
        with open(tmp, "wb") as f:
            f.write(envelope.original_content or envelope.content)
        os.rename(tmp, os.path.join(self.directory, f"{n:05d}.eml"))
        return "250 Message accepted for delivery"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--dir", required=True)
    p.add_argument("--port", type=int, default=0)
    a = p.parse_args()
    os.makedirs(a.dir, exist_ok=True)
    port = a.port or free_port()
    c = Controller(Sink(a.dir), hostname="127.0.0.1", port=port)
    c.start()
    print(f"READY {port}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        while not stop.wait(0.5):
            # Exit with the test that started us.
            if os.getppid() == 1:
                break
    finally:
        c.stop()


if __name__ == "__main__":
    sys.exit(main())
