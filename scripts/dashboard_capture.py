"""Runs btcmonitor (a Rich terminal dashboard for Bitcoin Core, from PyPI) against a regtest node
inside a pseudo-terminal, renders what it draws with pyte, and saves the screen as plain text.

    python dashboard_capture.py --datadir D --rpc-port P [--seconds N] --out FILE

btcmonitor finds the RPC cookie itself under D/regtest/.cookie. After N seconds the screen is
written to FILE and to stdout, then the tool is asked to quit ('q'), then SIGTERM, then SIGKILL.
Exit status: 0 with a screen; 1 if the tool died before the snapshot or printed a Python
traceback (its output is then printed to stderr); 2 for bad arguments. Every wait is bounded.
Used by scripts/dashboard.sh (which makes the venv) and node/tests/it/dashboard.rs.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

import pyte

# How long the tool gets to leave after 'q', and after SIGTERM, before the next step.
QUIT_GRACE = 5.0
TERM_GRACE = 3.0
TRACEBACK = b"Traceback (most recent call last)"


class AnsweringScreen(pyte.Screen):
    """A pyte screen that sends the terminal's answers (cursor position and the like) back to
    the program, as a real terminal would, so a tool that asks is not left waiting."""

    def __init__(self, columns: int, lines: int, master: int):
        super().__init__(columns, lines)
        self._master = master

    def write_process_input(self, data: str) -> None:
        try:
            os.write(self._master, data.encode())
        except OSError:
            pass


class Terminal:
    """The master end of a pty, its screen, and everything the program wrote to it."""

    def __init__(self, master: int, columns: int, lines: int):
        self.master = master
        self.screen = AnsweringScreen(columns, lines, master)
        self.stream = pyte.ByteStream(self.screen)
        self.transcript = bytearray()
        self.closed = False

    def pump(self, seconds: float, proc: subprocess.Popen | None = None) -> None:
        """Reads output for up to `seconds`; returns early once the pty closes or `proc` exits
        (after draining what is left)."""
        deadline = time.monotonic() + seconds
        while not self.closed:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            ready, _, _ = select.select([self.master], [], [], min(left, 0.1))
            if ready:
                try:
                    data = os.read(self.master, 65536)
                except OSError:  # EIO: every slave descriptor is closed
                    data = b""
                if not data:
                    self.closed = True
                    return
                self.transcript += data
                self.stream.feed(data)
            elif proc is not None and proc.poll() is not None:
                return

    def text(self) -> str:
        return "\n".join(line.rstrip() for line in self.screen.display).rstrip("\n") + "\n"


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--datadir", required=True, type=Path, help="the node's data directory (holds regtest/.cookie)")
    p.add_argument("--rpc-port", required=True, type=int)
    p.add_argument("--rpc-host", default="127.0.0.1")
    p.add_argument("--seconds", type=float, default=10.0, help="how long to let the dashboard run before the snapshot")
    p.add_argument("--out", required=True, type=Path, help="where to write the screen text")
    p.add_argument("--cols", type=int, default=160)
    p.add_argument("--rows", type=int, default=50)
    p.add_argument(
        "--btcmonitor",
        default=str(Path(sys.executable).parent / "btcmonitor"),
        help="the btcmonitor executable (default: the one next to this Python)",
    )
    args = p.parse_args(argv)
    if args.seconds <= 0 or args.cols < 40 or args.rows < 20:
        p.error("--seconds must be positive, the terminal at least 40x20")
    return args


def spawn(cmd: list[str], env: dict[str, str], columns: int, lines: int) -> tuple[subprocess.Popen, int]:
    """Starts `cmd` with a new pty as its controlling terminal and stdin/stdout/stderr."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", lines, columns, 0, 0))

    def make_controlling_terminal() -> None:
        # Runs in the child after setsid() (start_new_session) and after fd 0 became the slave.
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    try:
        proc = subprocess.Popen(
            cmd,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            close_fds=True,
            start_new_session=True,
            preexec_fn=make_controlling_terminal,
        )
    except BaseException:
        os.close(master)
        raise
    finally:
        os.close(slave)
    return proc, master


def signal_group(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)  # the tool leads its own session, so its group id is its pid
    except ProcessLookupError:
        pass


def wait_for_exit(term: Terminal, proc: subprocess.Popen, seconds: float) -> bool:
    """Keeps reading the pty (so the tool never blocks on a full buffer) until it exits."""
    deadline = time.monotonic() + seconds
    while proc.poll() is None and time.monotonic() < deadline:
        term.pump(min(0.2, max(0.0, deadline - time.monotonic())), proc)
    return proc.poll() is not None


def stop(term: Terminal, proc: subprocess.Popen) -> str:
    """Quits the tool the way a user would, then less politely; says how it ended."""
    if proc.poll() is not None:
        return f"had already exited with status {proc.returncode}"
    try:
        os.write(term.master, b"q")
    except OSError:
        pass
    if wait_for_exit(term, proc, QUIT_GRACE):
        return f"quit on 'q' with status {proc.returncode}"
    signal_group(proc, signal.SIGTERM)
    if wait_for_exit(term, proc, TERM_GRACE):
        return f"did not quit on 'q'; ended by SIGTERM (status {proc.returncode})"
    signal_group(proc, signal.SIGKILL)
    try:
        proc.wait(timeout=TERM_GRACE)
    except subprocess.TimeoutExpired:
        return "did not quit on 'q', SIGTERM or SIGKILL"
    return f"did not quit on 'q' or SIGTERM; killed (status {proc.returncode})"


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if not os.access(args.btcmonitor, os.X_OK):
        print(f"dashboard capture: no btcmonitor at {args.btcmonitor}", file=sys.stderr)
        return 2
    cmd = [
        args.btcmonitor,
        "--network",
        "regtest",
        "--datadir",
        str(args.datadir),
        "--rpc-host",
        args.rpc_host,
        "--rpc-port",
        str(args.rpc_port),
        "--no-price",  # no CoinGecko request: the test stays offline once the venv exists
    ]
    home = tempfile.mkdtemp(prefix="btcmonitor-home-")
    env = {k: v for k, v in os.environ.items() if not k.startswith("BITCOIN_") and not k.startswith("BTCMONITOR_")}
    env.update(HOME=home, TERM="xterm-256color", COLUMNS=str(args.cols), LINES=str(args.rows), PYTHONUNBUFFERED="1")
    env.pop("NO_COLOR", None)
    proc, master = spawn(cmd, env, args.cols, args.rows)
    term = Terminal(master, args.cols, args.rows)
    try:
        term.pump(args.seconds, proc)
        died_early = proc.poll() is not None
        snapshot = term.text()  # the live dashboard, before quitting changes the screen
        how = stop(term, proc)
    finally:
        if proc.poll() is None:
            signal_group(proc, signal.SIGKILL)
            try:
                proc.wait(timeout=TERM_GRACE)
            except subprocess.TimeoutExpired:
                pass
        os.close(master)
        shutil.rmtree(home, ignore_errors=True)

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(snapshot, encoding="utf-8")
    sys.stdout.write(snapshot)
    sys.stdout.flush()
    print(f"dashboard capture: btcmonitor {how}", file=sys.stderr)

    failures = []
    if died_early:
        failures.append(f"btcmonitor exited after less than {args.seconds:g} s (status {proc.returncode})")
    if TRACEBACK in term.transcript:
        failures.append("btcmonitor printed a Python traceback")
    if failures:
        print("dashboard capture: " + "; ".join(failures), file=sys.stderr)
        print("---- the screen at the end ----", file=sys.stderr)
        print(term.text(), file=sys.stderr)
        print("---- its raw output (last 4000 bytes) ----", file=sys.stderr)
        print(bytes(term.transcript[-4000:]).decode("utf-8", "replace"), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
