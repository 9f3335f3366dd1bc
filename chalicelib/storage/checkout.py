"""Checkout's writes: payment confirmed, deadlines kept, refunds claimed and settled.

Every move is one conditional write on the order (a transaction when stock or a due item goes
with it), so of two racing moves exactly one wins:

* ``mark_paid`` — ``pending_payment → paid`` and ``paid_at`` set, conditional on the status
  (one UpdateItem; the expiry due item is left for the job, which drops it on reading a paid
  order: confirming stays one write).
* ``expire`` — ``pending_payment → expired``, the stock back, the coupon it used back to its
  buyer and the due item gone, in one TransactWriteItems conditional on the status: the stock
  and the coupon return exactly once, and a payment that won the race first leaves the order paid.
* refunds — ``owe_refund`` writes ``refund = {status: pending}`` once (``attribute_not_exists``)
  with a due item for the retry job; ``claim_refund`` moves it to ``in_progress`` with a lease
  (only one worker at a time calls the provider); ``settle_refund`` ends it ``done`` or
  ``failed`` (retried by the job after a backoff).

Due items (``DueItem``) are the jobs' work lists, bucketed by the UTC day they fall due and
split over shards by order id: ``pk = DUE#<kind>#<yyyy-mm-dd>#<shard>``, ``sk = <iso
time>#<order_id>``, so a job reads only what is due (``sk <= now``) in the shards of the few day
buckets it looks back over — never a Scan (``storage.buckets``: why 16 shards, and the
pre-sharding keys still read).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from pynamodb.exceptions import UpdateError

from chalicelib.errors import OrderChanged
from chalicelib.records.commerce import Order, Refund, StatusChange
from chalicelib.storage.accounts import _connection
from chalicelib.storage.due import due_items
from chalicelib.storage.models.due import REFUND, DueItem, due_item
from chalicelib.storage.models.orders import ORDER, HistoryMap, OrderItem, order_pk, shop_status_pk
from chalicelib.storage.models.products import ProductItem
from chalicelib.storage.orders import OrdersRepository, _plain, refund_from, stock_label
from chalicelib.storage.products import CONDITION_FAILED, product_key
from chalicelib.storage.retry import with_retries
from chalicelib.storage.transactions import Cancelled, Transaction

# How many day buckets a job looks back over: a job down for longer leaves older work for a
# run with a longer look-back (``run_deadlines(..., look_back_days=)``).
LOOK_BACK_DAYS = 8


def _history(change: StatusChange) -> list:
    return [HistoryMap(status=change.status, at=change.at, by=change.by)]


class CheckoutRepository:
    def __init__(self, orders: OrdersRepository) -> None:
        self.orders = orders

    def get_order(self, order_id: str) -> Order | None:
        return self.orders.get_order(order_id)

    # -- payment ---------------------------------------------------------------------------
    def mark_paid(self, order: Order, at: float, by: str) -> Order:
        """``pending_payment → paid`` with ``paid_at`` (and, for an order through a store link, the
        link's credit: its order count, the pending ledger entry and the owner's total), in one
        transaction conditional on the order still pending; ``OrderChanged`` if it is not
        (paid meanwhile, expired, cancelled)."""
        from chalicelib.services import store_links

        return self.orders.move(order, StatusChange("paid", at, by), restock=False,
                                settlement=store_links.settlement_for(order, "paid", at))

    # -- deadlines -------------------------------------------------------------------------
    def due(self, kind: str, now: float, look_back_days: int = LOOK_BACK_DAYS) -> Iterator[DueItem]:
        """Due items of ``kind`` with a time at or before ``now``, oldest first: one Query page
        (``storage.due.DUE_PAGE`` items) at a time, the next page read only when the caller wants more (the
        job stops taking on work at its deadline; what it did not reach stays due)."""
        return due_items(kind, now, look_back_days)

    def drop_due(self, item: DueItem) -> None:
        with_retries(lambda: item.delete())

    def expire(self, order: Order, due: DueItem | None, at: float) -> bool:
        """``pending_payment → expired``, the stock back, the coupon it used back to its buyer and
        the due item gone, at once. False (and the due item dropped) when the order was no longer
        pending."""
        from chalicelib.storage import coupons

        change = StatusChange("expired", at, "system")

        def build() -> Transaction:
            tx = Transaction(_connection(), return_consumed_capacity="NONE")
            tx.update(OrderItem(order_pk(order.order_id), ORDER),
                      [OrderItem.status.set("expired"), OrderItem.updated_at.set(at),
                       OrderItem.gsi3pk.set(shop_status_pk(order.shop_id, "expired")),
                       OrderItem.history.set(OrderItem.history.append(_history(change)))],
                      condition=(OrderItem.status == "pending_payment") & OrderItem.paid_at.does_not_exist(),
                      label="order")
            for line in order.items:
                tx.update(ProductItem(*product_key(line.product_id)), [ProductItem.stock.add(line.quantity)],
                          condition=ProductItem.pk.exists(), label=stock_label(line.product_id))
            if due is not None:
                tx.delete(due, label="due")
            return tx

        try:
            if order.coupon_id is not None:
                coupons.commit_with_return(build, order)
            else:
                build().commit()
        except Cancelled as cancelled:
            if "order" in cancelled:
                if due is not None:
                    self.drop_due(due)
                return False
            raise
        return True

    def deliver(self, order: Order, due: DueItem | None, at: float, by: str) -> Order:
        """``shipped | ready_for_pickup → delivered`` (the buyer's confirmation or the automatic
        one), with the store-link settlement a delivery writes; the due item goes after."""
        from chalicelib.services import store_links

        delivered = self.orders.move(order, StatusChange("delivered", at, by), restock=False,
                                     settlement=store_links.settlement_for(order, "delivered", at))
        if due is not None:
            self.drop_due(due)
        return delivered

    def schedule(self, kind: str, at: float, order_id: str) -> None:
        with_retries(lambda: due_item(kind, at, order_id).save())

    # -- refunds ---------------------------------------------------------------------------
    def owe_refund(self, order: Order, refund: Refund) -> bool:
        """Record that ``refund`` is owed (once per order) and queue it for the retry job."""
        tx = Transaction(_connection(), return_consumed_capacity="NONE")
        tx.update(OrderItem(order_pk(order.order_id), ORDER),
                  [OrderItem.refund.set(_refund_map(refund)), OrderItem.updated_at.set(refund.requested_at)],
                  condition=OrderItem.pk.exists() & OrderItem.refund.does_not_exist(), label="order")
        tx.put(due_item(REFUND, refund.requested_at, order.order_id), label="due")
        try:
            tx.commit()
        except Cancelled as cancelled:
            if "order" in cancelled:
                return False
            raise
        return True

    def claim_refund(self, order_id: str, now: float, lease_seconds: float) -> Refund | None:
        """Take the refund for one attempt: ``pending``/``failed`` (or an ``in_progress`` whose
        lease ran out) → ``in_progress`` until ``now + lease_seconds``. None when there is none
        to take (done, or another worker holds it)."""
        item = OrderItem(order_pk(order_id), ORDER)
        claimable = (OrderItem.refund["status"].is_in("pending", "failed")
                     | ((OrderItem.refund["status"] == "in_progress") & (OrderItem.refund["lease_until"] < now)))
        try:
            with_retries(lambda: item.update(actions=[OrderItem.refund["status"].set("in_progress"),
                                                      OrderItem.refund["lease_until"].set(now + lease_seconds),
                                                      OrderItem.refund["attempts"].add(1)],
                                             condition=OrderItem.refund.exists() & claimable))
        except UpdateError as error:
            if error.cause_response_code == CONDITION_FAILED:
                return None
            raise
        return refund_from(_plain(item.refund))

    def settle_refund(self, order_id: str, ok: bool, at: float, error: str | None = None) -> None:
        """End an attempt: ``done`` (its due item goes) or ``failed`` with the reason."""
        item = OrderItem(order_pk(order_id), ORDER)
        if ok:
            actions = [OrderItem.refund["status"].set("done"), OrderItem.refund["refunded_at"].set(at),
                       OrderItem.refund["lease_until"].remove(), OrderItem.updated_at.set(at)]
        else:
            actions = [OrderItem.refund["status"].set("failed"), OrderItem.refund["last_error"].set((error or "")[:300]),
                       OrderItem.refund["lease_until"].remove()]
        with_retries(lambda: item.update(actions=actions,
                                         condition=OrderItem.refund["status"] == "in_progress"))

    def mark_refunded_by_owner(self, order: Order, at: float) -> Order:
        """A bank-transfer refund the owner sent themselves: ``pending`` → ``done``."""
        item = OrderItem(order_pk(order.order_id), ORDER)
        try:
            with_retries(lambda: item.update(
                actions=[OrderItem.refund["status"].set("done"), OrderItem.refund["refunded_at"].set(at),
                         OrderItem.updated_at.set(at)],
                condition=OrderItem.refund["status"].is_in("pending", "failed")))
        except UpdateError as error:
            if error.cause_response_code != CONDITION_FAILED:
                raise
            raise OrderChanged("This order owes no refund now.",
                               extra={"order_status": order.status, "requested_status": "refunded"}) from error
        assert order.refund is not None
        return replace(order, refund=replace(order.refund, status="done", refunded_at=at), updated_at=at)


def _refund_map(refund: Refund) -> dict:
    data = {"status": refund.status, "amount": refund.amount, "requested_at": refund.requested_at,
            "attempts": refund.attempts}
    if refund.payment_id:
        data["payment_id"] = refund.payment_id
    return data
