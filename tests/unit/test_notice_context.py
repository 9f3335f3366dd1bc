"""The notice context names the container's inbox as it is when used, never as it once was.

A test that hands the container a recording inbox and puts the real one back afterwards once
left the recorder inside a cached context: every later test in that process lost its notices
(four notification-channel tests failed or passed by the order the files ran in)."""

from __future__ import annotations

import pytest

from chalicelib.settings import get_settings
from chalicelib.wiring import Container


def test_an_inbox_swapped_and_put_back_does_not_linger_in_the_notice_context():
    deps = Container(get_settings())
    real = deps.inbox
    assert deps.notice_context.inbox is real
    recorder = object()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(deps, "inbox", recorder)
        assert deps.notice_context.inbox is recorder  # a stream handler during the test
    assert deps.notice_context.inbox is real  # and after it
