"""Python subprocesses started by the test suites record their AWS calls too.

``tests.aws_calls.install_for_tests`` puts this directory on ``PYTHONPATH``, so every Python
process the suites start imports this file at startup: the ``chalice local`` servers of the
integration tests (``devtools.live``, ``tests/integration/conftest.py``) then append their
calls to the same file as the suite. It does nothing unless ``$DONGNE_TEST_AWS_CALLS`` is set.
"""

import os
import sys

if os.environ.get("DONGNE_TEST_AWS_CALLS"):
    try:
        import importlib.util

        _path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "aws_calls.py")
        _spec = importlib.util.spec_from_file_location("dongne_test_aws_calls", _path)
        _module = importlib.util.module_from_spec(_spec)
        sys.modules[_spec.name] = _module
        _spec.loader.exec_module(_module)
        _module.install()
    except Exception as _error:  # noqa: BLE001 — never keep a subprocess from starting
        print(f"aws call recording is off in this process: {_error!r}", file=sys.stderr)
