"""Closing an account completely: what ``DELETE /me`` leaves for the stream to finish.

``DELETE /me`` (``services.accounts.close_account``) erases the profile and, for an owner,
closes the shop in the same transaction. From that commit on, without waiting for anything:

* **no order for the account**: a subscription's period checks the subscriber's profile in its
  placing transaction (``SubscriberClosed``), so a period already due, placed by a job that runs
  a minute after the close, places nothing and cancels the subscription instead;
* **no credit for its store links**: an order through a link checks the link owner's profile in
  its placing transaction, and is placed without credit when it is gone;
* **its shop takes no order, subscription or follow** (409 ``shop_closed``): follows check the
  shop's ``closed_at``, and orders check the shop's ``updated_at``, which the close moved on;
* **its comments show a closed account as author**: resolved when a page of comments is read
  (``label_comments``: one BatchGetItem of the page's customer authors), so nothing is
  rewritten, however many comments the account wrote (comments have no index by author).

The profile's REMOVE on the stream then enqueues the tidying, a page per step
(``ClosingStep``; ``STEP_PAGE`` items, one stream record each, so the work of one record is
bounded whatever the account holds): its subscriptions are cancelled, its store links retired
(``retired_at``: no visit counts, the landing is gone; the counts and the ledger stay), and for
an owner, the subscriptions to the shop are cancelled and each of the shop's conversations gets
one message saying the shop has closed. Every write is conditional (a cancelled subscription
stays as it is, a retired link keeps its first ``retired_at``, a conversation's message is
guarded once per conversation) and every step has a fixed key, so replays change nothing more.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Protocol

from chalicelib.records.closing import (ACCOUNT_KINDS, CONVERSATIONS, OWNER_KINDS, SHOP_SUBSCRIPTIONS, STORE_LINKS,
                                       SUBSCRIPTIONS, ClosingStep)
from chalicelib.records.common import Page
from chalicelib.records.conversations import Conversation, Once
from chalicelib.records.social import Comment
from chalicelib.records.subscriptions import CANCELLED, StaleSubscription, Subscription

# Items handled by one step (one stream record): one Query page and at most this many writes.
STEP_PAGE = 25
# A cancellation that keeps losing races to the subscriber's own changes or the job.
CANCEL_ATTEMPTS = 3
# The author shown on a closed account's comments.
CLOSED_AUTHOR = "탈퇴한 회원"


def closed_text(shop_name: str) -> str:
    """The message each of a closed shop's conversations gets."""
    return (f"{shop_name}은(는) 문을 닫았어요. 사장님이 계정을 탈퇴해서 이 대화에는 더 이상 답장을 받을 수 없고, "
            "새 주문과 정기배송도 받지 않아요. 지난 주문 내역은 그대로 볼 수 있어요.")


class Steps(Protocol):
    def enqueue(self, step: ClosingStep) -> bool: ...
    def retire_link(self, code: str, owner_id: str, now: float) -> bool: ...


class OpenAccounts(Protocol):
    def open_accounts(self, user_ids: Iterable[str]) -> set[str]: ...


class Subscriptions(Protocol):
    def get(self, subscription_id: str) -> Subscription | None: ...
    def save(self, current: Subscription, updated: Subscription) -> None: ...
    def mine(self, user_id: str, start_key: dict | None, limit: int) -> Page: ...
    def of_shop(self, shop_id: str, status: str | None, start_key: dict | None, limit: int) -> Page: ...


class Links(Protocol):
    def list_links(self, user_id: str, start_key: dict | None, limit: int) -> Page: ...


class Conversations(Protocol):
    def of_shop(self, shop_id: str, limit: int, start_key: dict | None) -> Page: ...
    def send(self, conversation: Conversation, message, recipient_id: str, quota=None,
             once: Once | None = None) -> bool: ...


# --- at once, from the close ----------------------------------------------------------------


def cancel_subscription(store: Subscriptions, sub: Subscription, now: float) -> bool:
    """Cancel ``sub`` (final), conditional on the revision read, from a fresh read when it lost
    a race. ``False`` when it was cancelled already (a replay) or is gone."""
    from chalicelib.services.subscriptions import apply_change

    current: Subscription | None = sub
    for _ in range(CANCEL_ATTEMPTS):
        if current is None or current.status == CANCELLED:
            return False
        updated = apply_change(current, status=CANCELLED, every_days=None, skip_next=False, now=now)
        try:
            store.save(current, updated)
            return True
        except StaleSubscription:
            current = store.get(sub.subscription_id)
    raise StaleSubscription(sub.subscription_id)  # the step is retried from the stream


def label_comments(accounts: OpenAccounts, page: Page) -> Page:
    """A page of comments with each closed account shown as such: the customer authors of the
    page are looked up in one BatchGetItem (a shop's replies keep the shop's name)."""
    authors = {c.author_id for c in page.items if isinstance(c, Comment) and not c.is_shop_reply}
    if not authors:
        return page
    open_ = accounts.open_accounts(authors)
    if open_ >= authors:
        return page
    items = [replace(c, author_name=CLOSED_AUTHOR, author_closed=True)
             if isinstance(c, Comment) and not c.is_shop_reply and c.author_id not in open_ else c
             for c in page.items]
    return Page(items=items, last_key=page.last_key)


# --- on the stream ----------------------------------------------------------------------------


def first_steps(steps: Steps, user_id: str, shop_id: str | None, shop_name: str, closed_at: float) -> int:
    """Enqueue the first step of each kind the account left (an owner's shop adds two kinds).
    Returns how many were written (0 for a replay)."""
    kinds = OWNER_KINDS if shop_id else ACCOUNT_KINDS
    return sum(1 for kind in kinds
               if steps.enqueue(ClosingStep(user_id=user_id, kind=kind, seq=0, shop_id=shop_id, shop_name=shop_name,
                                            closed_at=closed_at)))


@dataclass(frozen=True)
class StepReport:
    seen: int
    changed: int
    continued: bool


def run_step(steps: Steps, subscriptions: Subscriptions, links: Links, conversations: Conversations,
             step: ClosingStep, now: float) -> StepReport:
    """One page of one kind; the next page is the next step (enqueued once)."""
    start = json.loads(step.after) if step.after else None
    if step.kind == SUBSCRIPTIONS:
        page = subscriptions.mine(step.user_id, start, STEP_PAGE)
        changed = sum(1 for sub in page.items if cancel_subscription(subscriptions, sub, now))
    elif step.kind == SHOP_SUBSCRIPTIONS and step.shop_id:
        page = subscriptions.of_shop(step.shop_id, None, start, STEP_PAGE)
        changed = sum(1 for sub in page.items if cancel_subscription(subscriptions, sub, now))
    elif step.kind == STORE_LINKS:
        page = links.list_links(step.user_id, start, STEP_PAGE)
        changed = sum(1 for link in page.items if steps.retire_link(link.code, step.user_id, now))
    elif step.kind == CONVERSATIONS and step.shop_id:
        page = conversations.of_shop(step.shop_id, STEP_PAGE, start)
        changed = sum(1 for c in page.items if _tell(conversations, step, c, now))
    else:
        return StepReport(seen=0, changed=0, continued=False)
    if page.last_key:
        steps.enqueue(replace(step, seq=step.seq + 1, after=json.dumps(page.last_key, sort_keys=True)))
    return StepReport(seen=len(page.items), changed=changed, continued=page.last_key is not None)


def _tell(conversations: Conversations, step: ClosingStep, conversation: Conversation, now: float) -> bool:
    """One message in the conversation from the closed shop, once (a guard per conversation);
    a customer the shop blocked is not written to."""
    from chalicelib.errors import Blocked
    from chalicelib.services.conversations import shop_message

    message = shop_message(conversation, closed_text(step.shop_name or conversation.shop_name), now)
    try:
        return conversations.send(conversation, message, conversation.customer_id,
                                  once=Once(pk=f"CLOSED#{step.shop_id}", sk=conversation.conversation_id))
    except Blocked:
        return False
