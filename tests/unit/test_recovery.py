"""services.recovery without AWS: codes, their hash, the queued message and sending it once."""

from __future__ import annotations

import json

import pytest

from chalicelib.records.notifications import ChannelFailed
from chalicelib.records.recovery import RESET, Code
from chalicelib.services import recovery
from tests.unit.test_notifications import FakeChannels, FakeMarks

NOW = 1_900_000_000.0


def test_codes_are_six_digits_and_their_hash_is_bound_to_purpose_and_subject():
    codes = {recovery.new_code() for _ in range(200)}
    assert all(len(c) == 6 and c.isdigit() for c in codes) and len(codes) > 150
    h = recovery.code_hash("k", RESET, "email:abc", "123456")
    assert h == recovery.code_hash("k", RESET, "email:abc", "123456") and "123456" not in h
    assert len({h, recovery.code_hash("k", "verify", "email:abc", "123456"),
                recovery.code_hash("k", RESET, "email:abd", "123456"),
                recovery.code_hash("other key", RESET, "email:abc", "123456")}) == 4


def message() -> recovery.CodeMessage:
    record = Code(purpose=RESET, subject="email:x", user_id="u1", channel="email", target="email:x",
                  code_hash="h", issued_at=NOW, valid_until=NOW + recovery.CODE_SECONDS)
    found = recovery.message_for(record, "042917", "email", "minji@dongne.kr")
    assert found is not None
    return found


def test_the_queued_message_round_trips_and_is_sent_once():
    sent = message()
    assert "042917" in sent.body and sent.to == "minji@dongne.kr"
    fields = json.loads(sent.to_json())
    assert fields["kind"] == "code" and recovery.CodeMessage.from_fields(fields) == sent
    with pytest.raises(ValueError):
        recovery.CodeMessage.from_fields({**fields, "channel": "fax"})
    marks, channels = FakeMarks(), FakeChannels()
    assert recovery.send_code(marks, channels, channels, sent, NOW) == "sent"
    assert recovery.send_code(marks, channels, channels, sent, NOW + 1) == "duplicate"  # a redelivered message
    assert [s[:2] for s in channels.sent] == [("email", "minji@dongne.kr")]


def test_a_refused_code_is_given_back_for_the_queue_to_retry():
    sent, marks = message(), FakeMarks()
    with pytest.raises(ChannelFailed):
        recovery.send_code(marks, FakeChannels(fail={"email"}), FakeChannels(fail={"email"}), sent, NOW)
    working = FakeChannels()
    assert recovery.send_code(marks, working, working, sent, NOW + 5) == "sent" and len(working.sent) == 1


def test_an_sms_code_goes_to_the_e164_number():
    record = Code(purpose="verify", subject="u1", user_id="u1", channel="phone", target="phone:x", code_hash="h",
                  issued_at=NOW, valid_until=NOW + 900)
    sent = recovery.message_for(record, "000123", "phone", "+821012345678")
    assert sent is not None and (sent.channel, sent.to) == ("sms", "+821012345678")
    assert sent.body.startswith("[동네] 인증 코드는 000123")
