"""Plain records of a shop's aftercare automations: the owner's own words for three moments
(``services.automations``). Passed between storage and services; no framework types."""

from __future__ import annotations

from dataclasses import dataclass, field

FIRST_ORDER_THANKS = "first_order_thanks"
REVIEW_REQUEST = "review_request"
WELCOME_BACK = "welcome_back"
MOMENTS = (FIRST_ORDER_THANKS, REVIEW_REQUEST, WELCOME_BACK)

# Suggested words, shown (switched off) until the owner writes their own.
DEFAULT_TEXTS = {
    FIRST_ORDER_THANKS: "첫 주문 감사합니다! 정성껏 준비해서 보내드릴게요. 궁금한 점은 언제든 여기로 물어봐 주세요.",
    REVIEW_REQUEST: "받아 보신 상품은 마음에 드셨나요? 짧은 후기 한 줄이 저희 가게에 큰 힘이 돼요.",
    WELCOME_BACK: "오랜만이에요! 다시 찾아주셔서 정말 반가워요. 앞으로도 좋은 상품으로 보답할게요.",
}
DEFAULT_AFTER_DAYS = 3


@dataclass(frozen=True)
class Automation:
    """One moment's setting: on or off, the words sent, (review requests only) how many days
    after delivery, and since when it has been on (None while off): a moment that came before
    it was switched on is not sent for, even when its record is handled later (a replay)."""

    enabled: bool
    text: str
    after_days: int | None = None
    since: float | None = None

    def on_at(self, at: float) -> bool:
        """Whether it was on at ``at`` (and still is)."""
        return self.enabled and self.since is not None and self.since <= at


def _default(moment: str) -> Automation:
    return Automation(enabled=False, text=DEFAULT_TEXTS[moment],
                      after_days=DEFAULT_AFTER_DAYS if moment == REVIEW_REQUEST else None)


@dataclass(frozen=True)
class Automations:
    """A shop's three automations; ``updated_at`` None: never set (the defaults, all off)."""

    shop_id: str
    first_order_thanks: Automation = field(default_factory=lambda: _default(FIRST_ORDER_THANKS))
    review_request: Automation = field(default_factory=lambda: _default(REVIEW_REQUEST))
    welcome_back: Automation = field(default_factory=lambda: _default(WELCOME_BACK))
    updated_at: float | None = None

    def of(self, moment: str) -> Automation:
        return {FIRST_ORDER_THANKS: self.first_order_thanks, REVIEW_REQUEST: self.review_request,
                WELCOME_BACK: self.welcome_back}[moment]


@dataclass(frozen=True)
class ReviewDue:
    """A delivered order whose review request falls due at ``at`` (the job's work item)."""

    order_id: str
    at: float
