"""The benchmark's servers and measurements of them: start and stop processes, read /proc.

Every server runs in its own session under a temporary directory, so a benchmark never touches
anyone's data and Ctrl-C stops everything it started.
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
FEED_SLUG = "bench"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
SETUP_SNIPPET = f"""
from django.contrib.auth import get_user_model
from feeds.services import create_feed
from feeds.tokens import issue_token
user = get_user_model().objects.create_superuser("bench", "bench@example.invalid", None)
create_feed(by=user, title="Bench", slug="{FEED_SLUG}", status="live")
print(issue_token(user=user)[1])
"""


# --- Processes and /proc ----------------------------------------------------------------------


def free_port() -> int:
    """A loopback port nobody is listening on right now."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def wait_until(
    ready: Callable[[], bool], *, timeout: float, what: str, process: subprocess.Popen | None = None
) -> None:
    """Poll `ready` until it holds; fail early if `process` exits, so a crash is not a timeout."""
    deadline = time.monotonic() + timeout
    while not ready():
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{what} exited with code {process.returncode} before it was ready")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not ready after {timeout:.0f} s")
        time.sleep(0.05)


def port_accepts(port: int) -> bool:
    """Whether something listens on the loopback `port`."""
    try:
        with socket.create_connection((HOST, port), timeout=0.5):
            return True
    except OSError:
        return False


def redis_pongs(port: int) -> bool:
    """Whether Redis on `port` answers PING (it may accept before it has loaded)."""
    try:
        with socket.create_connection((HOST, port), timeout=0.5) as connection:
            connection.sendall(b"PING\r\n")
            return connection.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def start(
    args: list[str], *, env: dict[str, str], log: Path, stack: ExitStack, own_session: bool = False
) -> subprocess.Popen:
    """Start a server in its own process group (Ctrl-C reaches only us) and register its shutdown.

    Where the kernel groups CPU time by session (autogroup, on by default in most distributions),
    a server in a session of its own gets a CPU group of its own, with a share equal to the
    bench's. So by default it stays in the bench's session: readers that must not compete with it
    (idle priority, which only counts within a group) took a third of the CPU from its fan-outs.
    A bench whose clients are the load (HTTP, a crowd connecting) gives it `own_session`: there
    the clients need their share to arrive at the rate they stand for.
    """
    with log.open("ab") as output:
        process = subprocess.Popen(
            args,
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=own_session,
            process_group=None if own_session else 0,
        )
    stack.callback(stop, process)
    return process


def stop(process: subprocess.Popen | multiprocessing.process.BaseProcess) -> None:
    """Terminate politely, then kill; never wait unbounded."""
    if isinstance(process, subprocess.Popen):
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        return
    if process.is_alive():
        process.terminate()
        process.join(timeout=5)
        if process.is_alive():
            process.kill()
            process.join(timeout=5)


def rss_kb(pid: int) -> int:
    """Resident memory of a process in KB (VmRSS)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process has used so far."""
    # The command name may contain spaces, so count fields from its closing parenthesis.
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def raise_file_limit() -> int:
    """Lift our soft open-files limit to the hard one; Daphne and the readers inherit it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 1_048_576)
    resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return target


def prepare_database(env: dict[str, str]) -> str:
    """Migrate a fresh database, create the bench user and live feed; return an API key."""
    manage = [sys.executable, "manage.py"]
    for args in (["migrate", "--noinput"], ["shell", "-c", SETUP_SNIPPET]):
        result = subprocess.run(manage + args, cwd=REPO, env=env, capture_output=True, text=True, timeout=180)
        if result.returncode != 0:
            raise RuntimeError(f"manage.py {args[0]} failed:\n{result.stdout}{result.stderr}")
    return result.stdout.strip().splitlines()[-1]


def server_log_tail(log: Path, lines: int = 40) -> str:
    """The last lines of Daphne's log without its access lines, which would bury any traceback."""
    text = log.read_text(errors="replace") if log.exists() else ""
    return "\n".join([line for line in text.splitlines() if " - - [" not in line][-lines:])
