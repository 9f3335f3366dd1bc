"""The broadcast rules that need no storage: the audience, the advertising text, the night
window and how progress is summed from chunks."""

from __future__ import annotations

from datetime import datetime

import pytest

from chalicelib.errors import Invalid
from chalicelib.records.broadcasts import Audience, Broadcast, Chunk
from chalicelib.services.broadcasts import KST, advertising_text, audience_of, night_until, progress_of


def kst(*parts: int) -> float:
    return datetime(*parts, tzinfo=KST).timestamp()


def test_exactly_one_audience():
    assert audience_of("lapsed", None, None) == Audience(tier="lapsed")
    assert audience_of(None, True, None) == Audience(essential_due=True)
    assert audience_of(None, None, ["b", "a", "b"]).user_ids == ("b", "a")
    for tier, due, ids in ((None, None, None), ("regular", True, None), (None, False, None), ("regular", None, ["a"])):
        with pytest.raises(Invalid) as raised:
            audience_of(tier, due, ids)
        assert raised.value.errors[0].code == "one_audience"


def test_advertising_says_what_it_is_first_and_how_to_refuse_last():
    text = advertising_text("망원동 두부가게", "콩물 20% 할인")
    assert text.splitlines()[0] == "(광고) 망원동 두부가게" and text.splitlines()[1] == "콩물 20% 할인"
    assert text.splitlines()[-1].startswith("무료 수신거부:")


@pytest.mark.parametrize("at, until", [
    (kst(2026, 12, 24, 8, 0), None), (kst(2026, 12, 24, 20, 59, 59), None),
    (kst(2026, 12, 24, 21, 0), kst(2026, 12, 25, 8, 0)), (kst(2026, 12, 31, 23, 30), kst(2027, 1, 1, 8, 0)),
    (kst(2027, 1, 1, 0, 0), kst(2027, 1, 1, 8, 0)), (kst(2027, 1, 1, 7, 59, 59), kst(2027, 1, 1, 8, 0)),
])
def test_the_night_is_21_to_08_kst(at, until):
    assert night_until(at) == until


def _broadcast(**extra) -> Broadcast:
    return Broadcast(broadcast_id="B", shop_id="S", shop_name="가게", owner_id="O", audience=Audience(tier="lapsed"),
                     text="t", advertising=True, coupon_id=None, created_at=0.0, **extra)


def chunk(pass_no: int, seq: int, delivered: int, seen: int | None, skipped: int | None, last: bool = False) -> Chunk:
    return Chunk("B", pass_no, seq, None, 0.0, delivered=delivered, seen=seen, skipped=skipped, last=last)


def test_progress_sums_deliveries_of_every_pass_and_the_rest_of_the_latest():
    night = [chunk(0, 0, 3, 10, 2), chunk(0, 1, 1, 5, 1, last=True)]
    held = progress_of(_broadcast(held_until=100.0, held_pass=1), night)
    assert (held.status, held.recipients, held.delivered, held.skipped_no_consent) == ("held", 15, 4, 3)
    morning = night + [chunk(1, 0, 6, 10, 2), chunk(1, 1, 2, 5, 1)]
    sending = progress_of(_broadcast(), morning)
    assert (sending.status, sending.recipients, sending.delivered, sending.skipped_no_consent) == ("sending", 15, 12, 3)
    done = progress_of(_broadcast(), morning[:-1] + [chunk(1, 1, 2, 5, 1, last=True)])
    assert done.status == "done"
    assert progress_of(_broadcast(), [chunk(0, 0, 0, None, None)]).status == "sending"


def test_a_page_handed_on_or_run_twice_counts_once():
    handed_on = Chunk("B", 0, 0, None, 0.0, delivered=4)  # out of time: delivered 4, counted nothing
    again = Chunk("B", 0, 0, None, 0.0, delivered=2, seen=6, skipped=0, last=True, part=1)
    twice = Chunk("B", 0, 0, None, 0.0, delivered=0, seen=6, skipped=0, last=True)  # the record replayed
    p = progress_of(_broadcast(), [handed_on, again, twice])
    assert (p.status, p.recipients, p.delivered) == ("done", 6, 6)
