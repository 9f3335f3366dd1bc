# Dongne — `make run` serves the API on DynamoDB Local; `make test` runs every suite.
PYTHON ?= python3.13
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

# Each suite on both cores (pytest-xdist). The API suite runs on two dates: the moto pass (with
# the unit and deploy suites) lives SHIFT_DAYS ahead (the system clock itself moved,
# tests/conftest.py), the DynamoDB Local pass today. The integration tests go first there: the
# fuzzer is the longest.
XDIST ?= -n 2 --dist loadfile
SHIFT_DAYS ?= 400

# The locks (docs/dependencies.md): requirements.txt, what the functions import (chalice package
# bundles it), and requirements-dev.txt, what .venv holds; uv compiles them from requirements.in
# and requirements-dev.in, every package pinned with its hashes, for any platform on Python 3.13
# (Lambda's manylinux x86_64 and arm64 included). uv ignores every release uploaded after
# LOCK_DATE, so the same inputs give the same locks on any day; move it to take newer releases.
LOCK_DATE ?= 2026-12-07T00:00:00Z
UV_COMPILE = $(abspath $(VENV))/bin/uv pip compile --quiet --universal --python-version 3.13 --generate-hashes \
	--exclude-newer $(LOCK_DATE) --custom-compile-command "make lock"
# Lambda's python3.13 runtime (Amazon Linux 2023, glibc 2.34) takes manylinux wheels up to 2_34.
LAMBDA_ARCHS ?= x86_64 aarch64

.PHONY: run test typecheck test-fast test-ddblocal setup package bench clean lock lock-check

# The dev lock pins pip itself (chalice 1.34 requires pip<26.3, and the lock honours it): the
# first install only brings a fresh venv's pip up to date, the second leaves the lock's.
$(STAMP): requirements.txt requirements-dev.txt
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found (pyenv install 3.13)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@mkdir -p build
	@# uv as locked (its hashes checked by pip), then the whole dev lock by uv, hashes checked,
	@# exactly (what the lock does not name is removed; pip is pinned there for chalice).
	$(PY) -c "import re; t = open('requirements-dev.txt').read(); open('build/uv-lock.txt', 'w').write(re.search(r'^uv==.*?(?=^\S)', t, re.S | re.M).group(0))"
	$(PY) -m pip install --quiet --no-deps --require-hashes -r build/uv-lock.txt
	$(VENV)/bin/uv pip sync --quiet --python $(PY) --require-hashes requirements-dev.txt
	touch $(STAMP)

# Chromium and a Korean font for the sharing pages' browser test (tests/api/test_pages_browser.py),
# from Debian's packages, as root (CI); elsewhere the test is skipped, under CI=true it fails. The
# packages download while the virtualenv and DynamoDB Local install (a clean machine waits for the
# longer of the two, not their sum).
setup:
	@browser=; \
	if ! command -v chromium >/dev/null 2>&1 || ! fc-list :lang=ko 2>/dev/null | grep -q .; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-nanum) \
	      >/dev/null 2>&1 & browser=$$!; \
	  else echo "no chromium: the browser test is skipped (apt-get install chromium fonts-nanum as root)"; fi; \
	fi; \
	{ $(MAKE) --no-print-directory -q $(STAMP) || $(MAKE) --no-print-directory $(STAMP); } && $(PY) -m devtools.ddblocal install; status=$$?; \
	if [ -n "$$browser" ]; then \
	  wait $$browser || echo "could not install chromium (apt-get); the browser test will not run"; fi; \
	exit $$status

run: setup
	$(PY) -m devtools.run

# Both suites append every AWS call the app makes to build/aws-calls.jsonl (tests/aws_calls.py);
# the last step checks the packaged roles grant each of them, and nothing more (deploy/iam_check.py).
test: setup
	@rm -f build/aws-calls.jsonl
	@echo "=== unit, deploy and API suites on moto, the system clock $(SHIFT_DAYS) days ahead;"
	@echo "=== alongside, the types (chalicelib and the fakes against their Protocols) and the local tools:"
	@echo "=== DynamoDB Local, its stream poller, make run (one JVM at a time) ==="
	@mkdir -p build
	@$(PY) -m mypy > build/typecheck.log 2>&1 & types=$$!; \
	  $(PY) -m pytest -q --durations=5 tests/devtools > build/devtools-tests.log 2>&1 & tools=$$!; \
	  DONGNE_CLOCK_SHIFT_DAYS=$(SHIFT_DAYS) $(PY) -m pytest -q $(XDIST) --durations=10 tests --ignore=tests/devtools; \
	  moto=$$?; wait $$types; types=$$?; wait $$tools; tools=$$?; \
	  echo "=== the types (run alongside) ==="; cat build/typecheck.log; \
	  echo "=== the local tools (run alongside) ==="; tail -n 12 build/devtools-tests.log; \
	  test $$types -eq 0 || { echo "the type check failed"; exit 1; }; \
	  test $$moto -eq 0 || { echo "the moto suite failed"; exit 1; }; \
	  test $$tools -eq 0 || { cat build/devtools-tests.log; echo "the local tools' tests failed"; exit 1; }
	@echo "=== integration and API suites on DynamoDB Local, today ==="
	DONGNE_TEST_BACKEND=ddblocal $(PY) -m pytest -q $(XDIST) --durations=10 tests/integration tests/api
	@echo "=== IAM: each function's role grants the calls its code made ==="
	@$(MAKE) --no-print-directory package STAGE=prod >/dev/null
	$(PY) -m deploy.iam_check --template build/prod/sam.json --calls build/aws-calls.jsonl
	@echo "=== all suites passed ==="

# mypy.ini: chalicelib, and each in-memory test fake against the Protocol it stands for.
typecheck: $(STAMP)
	$(PY) -m mypy

test-fast: $(STAMP)
	$(PY) -m pytest -q -x tests/unit tests/api

# chalice zips chalicelib/ as it is: the bytecode the tests left is not shipped (same zip each build).
package: $(STAMP)
	find chalicelib -name __pycache__ -type d -prune -exec rm -rf {} +
	$(PY) -m deploy.template --stage $(or $(STAGE),prod) -o build/resources-$(or $(STAGE),prod).json
	AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-ap-northeast-2} $(VENV)/bin/chalice package --stage $(or $(STAGE),prod) --merge-template build/resources-$(or $(STAGE),prod).json build/$(or $(STAGE),prod)

# Both locks again from the .in files (after editing one, or moving LOCK_DATE). A version already
# locked stays unless its input no longer allows it; UPGRADE="--upgrade-package NAME" (or
# --upgrade) takes the newest release up to LOCK_DATE.
lock: $(STAMP)
	$(UV_COMPILE) $(UPGRADE) requirements.in -o requirements.txt
	$(UV_COMPILE) $(UPGRADE) requirements-dev.in -o requirements-dev.txt

# The offline check (deploy/locks.py, also a test), then `make lock` again in a temporary copy:
# fails if its locks differ from the committed ones (a lock edited by hand, an input changed
# without make lock); then pip must find a hashed wheel of every runtime package for each of
# Lambda's architectures. Needs the package index, so make test leaves it out.
lock-check: $(STAMP)
	@$(PY) -m deploy.locks && tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	  cp requirements.in requirements-dev.in requirements.txt requirements-dev.txt "$$tmp"/ && \
	  (cd "$$tmp" && $(UV_COMPILE) requirements.in -o requirements.txt \
	    && $(UV_COMPILE) requirements-dev.in -o requirements-dev.txt) && \
	  diff -u requirements.txt "$$tmp"/requirements.txt && \
	  diff -u requirements-dev.txt "$$tmp"/requirements-dev.txt && \
	  echo "the locks match requirements.in and requirements-dev.in" && \
	  for arch in $(LAMBDA_ARCHS); do \
	    platforms=$$(for glibc in $$(seq 17 34); do printf -- '--platform manylinux_2_%s_%s ' $$glibc $$arch; done); \
	    $(PY) -m pip download --quiet --require-hashes --only-binary=:all: --no-deps $$platforms \
	      --python-version 3.13 --implementation cp -r requirements.txt -d "$$tmp/$$arch" || exit 1; \
	    echo "Lambda $$arch: $$(ls "$$tmp/$$arch" | wc -l) wheels, each hashed in requirements.txt"; \
	  done

bench: setup package
	$(PY) -m bench.run

clean:
	rm -rf build .pytest_cache .hypothesis .mypy_cache

# The TypeScript client (clients/typescript): the OpenAPI document dumped without a server, and its
# types regenerated from it (commit src/schema.ts; tests/devtools/test_run.py checks it is current).
.PHONY: client
client: $(STAMP)
	$(PY) -m devtools.openapi_dump -o build/openapi.json
	cd clients/typescript && { test -d node_modules || npm ci --no-audit --no-fund; } && npm run generate -- ../../build/openapi.json
