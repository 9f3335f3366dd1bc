"""What a notification says: its Korean title and body, from its type and data.

Rendered when read, not stored: a group that grows (likes, new followers) reads right at
every count, and the wording can change without rewriting anyone's inbox. Types handed in
by other domains (subscriptions...) may carry their own ``title``/``body`` in ``data``;
otherwise a template here (or a plain fallback) is used.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

ORDER_STATUS_TITLES = {
    "paid": "결제가 확인되었어요",
    "shipped": "상품이 출발했어요",
    "delivered": "배송이 완료되었어요",
    "cancelled": "주문이 취소되었어요",
    "ready_for_pickup": "픽업 준비가 끝났어요",
    "expired": "결제 기한이 지나 주문이 취소되었어요",
}
EXCERPT_CHARS = 60


def has_batchim(word: str) -> bool:
    """Whether the last syllable of a Korean word ends in a consonant (decides 을/를, 이/가...).
    Words ending in a non-Hangul character read as if they did not (``'3개'`` → ``True``)."""
    for char in reversed(word.strip()):
        if "가" <= char <= "힣":
            return (ord(char) - ord("가")) % 28 != 0
        if char.isdigit():
            return char in "0136789"
        if char.isalpha():
            return False
    return False


def josa(word: str, pair: str) -> str:
    """``word`` with the particle that fits it: ``josa('두부가게', '을/를')`` → ``'두부가게를'``."""
    with_final, without = pair.split("/")
    return word + (with_final if has_batchim(word) else without)


def won(amount: Any) -> str:
    return f"{int(amount or 0):,}원"


def excerpt(text: Any, limit: int = EXCERPT_CHARS) -> str:
    text = " ".join(str(text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def who(actors: Sequence[Mapping[str, Any]], count: int) -> str:
    """"김민지님" / "김민지 외 3명": the first actor and how many more."""
    first = str(actors[0].get("name") or "고객") if actors else "고객"
    return f"{first}님" if count <= 1 else f"{first} 외 {count - 1}명"


def items_phrase(data: Mapping[str, Any]) -> str:
    first = str(data.get("first_item") or "상품")
    more = int(data.get("item_count") or 1) - 1
    return f"{first} 외 {more}건" if more > 0 else first


def _milestone(data: Mapping[str, Any]) -> tuple[str, str]:
    name = str(data.get("customer_name") or "고객")
    shop = str(data.get("shop_name") or "가게")
    kind = data.get("milestone")
    if kind == "first_follower":
        return "첫 팔로워가 생겼어요!", f"고객님이 팔로잉 하셨습니다. {name}님이 {shop}의 첫 팔로워예요."
    if kind == "first_order":
        return "첫 주문을 축하해요!", f"{name}님이 {shop}의 첫 주문을 해 주셨어요. 정성껏 보내 드려요."
    if kind == "first_review":
        return "첫 리뷰가 도착했어요!", f"{name}님이 {shop}에 첫 리뷰(★{data.get('rating', 5)})를 남겼어요."
    if kind == "tenth_regular":
        return "단골 열 분이 생겼어요!", f"{name}님이 {shop}의 열 번째 단골이 되었어요. 동네 가게다워졌어요."
    if kind == "became_regular":
        return f"{name}님이 단골이 되었어요", f"{josa(shop, '을/를')} 다시 찾아 주셨어요. 이름과 취향을 기억해 두세요."
    return "축하해요!", f"{shop}의 새로운 순간이에요."


def render(type_: str, data: Mapping[str, Any], count: int | None = None,
           actors: Sequence[Mapping[str, Any]] = ()) -> tuple[str, str]:
    """``(title, body)`` of a notification, Korean first."""
    if data.get("title") and data.get("body"):
        return str(data["title"]), str(data["body"])
    n = int(count or 1)
    shop = str(data.get("shop_name") or "가게")
    name = str(data.get("customer_name") or data.get("author_name") or "고객")
    if type_ == "new_follower":
        return "고객님이 팔로잉 하셨습니다", f"{who(actors, n)}이 {josa(shop, '을/를')} 팔로잉 하셨습니다."
    if type_ == "like":
        return f"{who(actors, n)}이 좋아해요", f"게시물에 좋아요가 {n}개 모였어요."
    if type_ == "new_order":
        body = f"{name}님이 {josa(items_phrase(data), '을/를')} 주문했어요 · {won(data.get('total'))}"
        return "새 주문이 들어왔어요", body + (" · 입금을 확인해 주세요" if data.get("awaiting_payment") else "")
    if type_ == "order_status":
        status = str(data.get("status") or "")
        if data.get("to_owner") and status == "expired":
            return (f"{name}님의 주문이 결제 기한을 넘겼어요",
                    f"{items_phrase(data)} · {won(data.get('total'))} · 재고는 다시 판매 중이에요")
        if data.get("to_owner"):
            return f"{name}님이 주문을 취소했어요", f"{items_phrase(data)} · {won(data.get('total'))}"
        return ORDER_STATUS_TITLES.get(status, "주문 상태가 바뀌었어요"), f"{shop} · {items_phrase(data)}"
    if type_ == "comment":
        return f"{name}님이 댓글을 남겼어요", excerpt(data.get("text"))
    if type_ == "message":
        text = excerpt(data.get("text")) or "사진을 보냈어요"
        if data.get("sender") == "shop":
            return (f"{shop}에서 메시지가 왔어요" if data.get("automatic") else f"{shop}에서 답장이 왔어요"), text
        return f"{name}님의 문의가 도착했어요", text
    if type_ == "shop_reply":
        return f"{shop}에서 답글을 남겼어요", excerpt(data.get("text"))
    if type_ == "review":
        return f"새 리뷰가 도착했어요 ★{data.get('rating', '')}", f"{name}: {excerpt(data.get('text'))}"
    if type_ == "reorder_due":
        product = str(data.get("product_name") or "상품")
        return (f"{josa(product, '이/가')} 떨어질 때가 됐어요",
                f"{shop}에서 {data.get('reorder_days', '')}일마다 사는 {product}. 지난 주문 그대로 한 번에 다시 주문할 수 있어요.")
    if type_ == "regular_lapsed":
        days = data.get("days_since_last_order")
        since = f"마지막 주문 {days}일 전" if days is not None else "한동안 주문이 없어요"
        return f"단골 {name}님이 한동안 오지 않았어요", f"{since} · 주문 {data.get('order_count', 0)}번. 안부 한마디 어떨까요?"
    if type_ == "reward":
        if data.get("moment") == "confirmed":
            return "리워드가 확정되었어요", f"{shop} · {won(data.get('amount'))} · 친구의 주문이 잘 전달됐어요"
        if data.get("no_reward"):
            return "친구가 내 스토어 링크로 주문했어요", f"{shop} · 소개해 줘서 고마워요"
        if data.get("given_to_friend"):
            return "친구가 내 스토어 링크로 주문했어요", f"{shop} · 리워드는 친구 할인으로 선물했어요"
        if data.get("moment") == "bought":
            return "친구가 내 스토어 링크로 주문했어요", f"{shop} · 리워드 {won(data.get('amount'))} 적립 예정 (배송 완료 후 확정)"
        return "리워드가 적립되었어요", f"{shop} · {won(data.get('amount'))}"
    if type_ == "store_link":
        return "내 스토어 링크가 생겼어요", f"{shop}에서 산 물건을 친구에게 소개해 보세요. 친구가 링크로 사면 리워드가 쌓여요."
    if type_ == "insights_weekly":  # normally carries its own title and body (services.insights)
        return f"{shop}의 지난주", "지난주 주문과 매출, 새 단골을 확인해 보세요."
    if type_ == "posting_nudge":
        return f"{shop} 소식을 기다리는 손님들이 있어요", "오늘 새 소식을 사진 한 장으로 올려 보세요."
    if type_ == "coupon":
        off = f"{data.get('value', '')}% 할인" if data.get("kind") == "percent" else f"{won(data.get('value'))} 할인"
        until = str(data.get("ends_at") or "")[:10]
        return (f"{shop}에서 쿠폰을 보냈어요",
                f"{data.get('name') or '쿠폰'} · {off}" + (f" · {until}까지" if until else ""))
    if type_ == "subscription_skipped":
        return "이번 정기배송은 건너뛰었어요", f"{shop} · {str(data.get('reason') or '재고가 부족해요')}"
    if type_ == "subscription_upcoming":
        return "내일 정기배송 주문이 들어가요", f"{shop} · 바꾸거나 건너뛰려면 오늘 알려 주세요."
    if type_ == "milestone":
        return _milestone(data)
    return str(data.get("title") or "새 알림"), str(data.get("body") or "")
