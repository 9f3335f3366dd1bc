"""Do the locks hold exactly what ``requirements.in`` and ``requirements-dev.in`` ask for?

``python -m deploy.locks`` (and ``tests/deploy/test_locks.py``, offline, in a second) reads the
two inputs and the two locks ``make lock`` compiles from them — ``requirements.txt``, what
``chalice package`` bundles for Lambda, and ``requirements-dev.txt``, what ``.venv`` holds — and
fails when

* a lock entry is not pinned to one exact version, or has no sha256 hash (``pip install
  --require-hashes`` would refuse the whole file), or a package has two entries;
* an input requirement is not met by exactly one entry of its lock (its name, at a version
  its specifier allows);
* a package of the lock's closure is missing: each entry's own requirements (read from its
  installed metadata, extras included, markers evaluated for Lambda: Linux, CPython 3.13) must
  be pinned in the same lock at a version they allow, and the installed version must be the
  locked one (``make`` reinstalls .venv when a lock changes);
* an entry without a marker is needed by no input (a dependency dropped without ``make lock``);
* a package in both locks differs between them, in version or hashes: the dev lock is
  constrained by the runtime lock (``-c requirements.txt``), so the tests run what Lambda runs;
* boto3 and botocore are not in both locks: the functions bundle them (docs/dependencies.md).
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from importlib import metadata
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import NormalizedName, canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
# (input, its lock): the runtime pair first, the dev lock is constrained by it.
PAIRS = (("requirements.in", "requirements.txt"), ("requirements-dev.in", "requirements-dev.txt"))
BUNDLED = (canonicalize_name("boto3"), canonicalize_name("botocore"))
# Lambda's python3.13 runtime (Amazon Linux 2023), for the requirements' markers (``evaluate``
# takes the running interpreter's values for the rest).
LAMBDA_ENV: dict[str, str] = {"sys_platform": "linux", "platform_system": "Linux",
                              "os_name": "posix", "platform_machine": "x86_64",
                              "implementation_name": "cpython", "platform_python_implementation": "CPython",
                              "python_version": "3.13", "python_full_version": "3.13.0",
                              "implementation_version": "3.13.0"}
HASH = re.compile(r"\s--hash=(\S+)")
SHA256 = re.compile(r"sha256:[0-9a-f]{64}")

# A package's own requirements at a version, as its metadata states them; None when that
# version is not installed.
Requires = Callable[[str, str], "list[str] | None"]


@dataclass(frozen=True)
class Pin:
    name: NormalizedName
    version: str
    marker: Marker | None
    hashes: tuple[str, ...]
    line: str


@dataclass
class Lock:
    path: str
    pins: dict[NormalizedName, Pin] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def parse_lock(text: str, path: str) -> Lock:
    """Every entry of a lock: ``name==version [; marker]`` and its ``--hash`` options."""
    lock = Lock(path)
    for line in _logical_lines(text):
        if line.startswith("-"):
            lock.problems.append(f"{path}: option {line.split()[0]} in a lock")
            continue
        hashes = tuple(HASH.findall(line))
        spec = HASH.sub("", line).strip()
        try:
            req = Requirement(spec)
        except InvalidRequirement as error:
            lock.problems.append(f"{path}: cannot read {spec!r}: {error}")
            continue
        name = canonicalize_name(req.name)
        pinned = [s for s in req.specifier if s.operator in ("==", "===") and "*" not in s.version]
        if len(pinned) != 1 or len(req.specifier) != 1 or req.url:
            lock.problems.append(f"{path}: {spec} is not pinned to one exact version")
            continue
        if not hashes or not all(SHA256.fullmatch(h) for h in hashes):
            lock.problems.append(f"{path}: {name}=={pinned[0].version} has no sha256 hash")
        if name in lock.pins:
            lock.problems.append(f"{path}: {name} has more than one entry")
            continue
        lock.pins[name] = Pin(name, pinned[0].version, req.marker, hashes, spec)
    return lock


def parse_input(path: Path) -> tuple[list[Requirement], list[str], list[str]]:
    """An input's requirements (``-r`` files included), the files it constrains with (``-c``),
    and what it holds that cannot be read."""
    requirements: list[Requirement] = []
    constraints: list[str] = []
    problems: list[str] = []
    for line in _logical_lines(path.read_text()):
        option, _, rest = line.partition(" ")
        if option == "-r":
            included, more, wrong = parse_input(path.parent / rest.strip())
            requirements += included
            constraints += more
            problems += wrong
        elif option == "-c":
            constraints.append(rest.strip())
        elif line.startswith("-"):
            problems.append(f"{path.name}: option {option} is not read by the lock check")
        else:
            try:
                requirements.append(Requirement(line))
            except InvalidRequirement as error:
                problems.append(f"{path.name}: cannot read {line!r}: {error}")
    return requirements, constraints, problems


def check_lock(inputs: Iterable[Requirement], lock: Lock, requires: Requires) -> list[str]:
    """The input's requirements against its lock, then the lock's closure from them."""
    problems = list(lock.problems)
    needed: dict[NormalizedName, set[str]] = {}
    todo: list[Requirement] = []
    for req in inputs:
        if req.marker is not None and not req.marker.evaluate(LAMBDA_ENV):
            continue
        pin = lock.pins.get(canonicalize_name(req.name))
        if pin is None:
            problems.append(f"{lock.path}: {req} (an input) has no entry")
        elif not req.specifier.contains(pin.version, prereleases=True):
            problems.append(f"{lock.path}: {req} (an input) is locked at {pin.version}")
        todo.append(req)
    while todo:
        req = todo.pop()
        name = canonicalize_name(req.name)
        pin = lock.pins.get(name)
        if pin is None:
            continue  # reported by whoever requires it
        seen = needed.setdefault(name, set())
        new = ({""} | set(req.extras)) - seen  # "": the package itself, without extras
        if not new:
            continue
        seen |= new
        own = requires(pin.name, pin.version)
        if own is None:
            problems.append(f"{lock.path}: {name}=={pin.version} is not installed (make installs the dev lock)")
            continue
        for text in own:
            dep = Requirement(text)
            if dep.marker is not None and not any(dep.marker.evaluate({**LAMBDA_ENV, "extra": e}) for e in new):
                continue
            dep_pin = lock.pins.get(canonicalize_name(dep.name))
            if dep_pin is None:
                problems.append(f"{lock.path}: {dep} (required by {name}) has no entry")
            elif not dep.specifier.contains(dep_pin.version, prereleases=True):
                problems.append(f"{lock.path}: {dep} (required by {name}) is locked at {dep_pin.version}")
            todo.append(dep)
    for pin in lock.pins.values():
        if pin.name not in needed and pin.marker is None:
            problems.append(f"{lock.path}: {pin.name}=={pin.version} is needed by no input")
    return problems


def check_shared(runtime: Lock, dev: Lock) -> list[str]:
    problems = []
    for name in BUNDLED:
        for lock in (runtime, dev):
            if name not in lock.pins:
                problems.append(f"{lock.path}: {name} is not locked (the functions bundle it)")
    for name, pin in runtime.pins.items():
        other = dev.pins.get(name)
        if other is not None and (other.version, set(other.hashes)) != (pin.version, set(pin.hashes)):
            problems.append(f"{name}: {pin.version} in {runtime.path}, {other.version} in {dev.path}"
                            + (" (other hashes)" if other.version == pin.version else ""))
    return problems


def installed_requires(name: str, version: str) -> list[str] | None:
    """The installed distribution's requirements, or None when it is missing or installed at
    another version (its metadata would not be the locked release's)."""
    dist = _installed().get(canonicalize_name(name))
    if dist is None or dist.version != version:
        return None
    return dist.requires or []


@cache
def _installed() -> dict[NormalizedName, metadata.Distribution]:
    """The installed distributions by name, read once (one lookup each scans sys.path)."""
    found: dict[NormalizedName, metadata.Distribution] = {}
    for dist in metadata.distributions():
        found.setdefault(canonicalize_name(dist.metadata["Name"]), dist)
    return found


def check(root: Path = ROOT, requires: Requires = installed_requires) -> list[str]:
    locks: list[Lock] = []
    problems: list[str] = []
    for input_name, lock_name in PAIRS:
        inputs, constraints, wrong = parse_input(root / input_name)
        problems += wrong
        lock = parse_lock((root / lock_name).read_text(), lock_name)
        for earlier in locks:
            if earlier.path not in constraints:
                problems.append(f"{input_name}: not constrained by {earlier.path} (-c {earlier.path})")
        problems += check_lock(inputs, lock, requires)
        locks.append(lock)
    return problems + check_shared(*locks)


def _logical_lines(text: str) -> list[str]:
    """Lines joined across trailing backslashes, comments and blank lines dropped."""
    lines: list[str] = []
    current = ""
    for raw in text.splitlines():
        raw = raw.split(" #", 1)[0] if not raw.lstrip().startswith("#") else ""
        if raw.rstrip().endswith("\\"):
            current += raw.rstrip()[:-1] + " "
            continue
        current += raw
        if current.strip():
            lines.append(" ".join(current.split()))
        current = ""
    if current.strip():
        lines.append(" ".join(current.split()))
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=ROOT)
    args = parser.parse_args(argv)
    problems = check(args.root)
    for problem in problems:
        print(problem)
    if not problems:
        print(f"the locks match their inputs ({', '.join(lock for _, lock in PAIRS)})")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
