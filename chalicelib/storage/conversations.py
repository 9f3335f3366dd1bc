"""Conversations, messages and a shop's blocks: each message is one TransactWriteItems."""

from __future__ import annotations

from pynamodb.exceptions import DeleteError, UpdateError

from chalicelib.errors import Blocked, NotFound
from chalicelib.records.common import Page
from chalicelib.records.conversations import CUSTOMER, Block, Conversation, Message, Once
from chalicelib.records.rates import Ticket
from chalicelib.storage.accounts import _connection
from chalicelib.storage.models.accounts import shop_pk
from chalicelib.storage.models.conversations import (
    CONVERSATION_SK, MESSAGE_PREFIX, BlockItem, ConversationItem, LastMessageMap, MessageItem, SentItem, block_sk,
    conversation_pk, message_sk, my_conversations_gsi, shop_conversations_gsi,
)
from chalicelib.storage.models.social import time_key
from chalicelib.storage.paging import page_of
from chalicelib.storage.rates import add_quota, raise_if_limited
from chalicelib.storage.retry import with_retries
from chalicelib.storage.transactions import Cancelled, Transaction

BLOCKED = "blocked"  # the label of the block check in a transaction
SENT = "sent"  # the label of a guarded send's guard item
# A busy conversation is one hot item: give racing messages room to retry.
SEND_ATTEMPTS = 8


def to_message(item: MessageItem | LastMessageMap, conversation_id: str) -> Message:
    return Message(message_id=item.message_id, conversation_id=conversation_id, sender=item.sender,
                   sender_id=item.sender_id, text=item.text, photos=tuple(item.photos or ()),
                   created_at=float(item.created_at))


def to_conversation(item: ConversationItem) -> Conversation:
    last = item.last_message
    return Conversation(
        conversation_id=item.conversation_id, shop_id=item.shop_id, shop_name=item.shop_name, owner_id=item.owner_id,
        customer_id=item.customer_id, customer_name=item.customer_name,
        last_message=to_message(last, item.conversation_id) if last is not None else None,
        customer_unread=int(item.customer_unread or 0), shop_unread=int(item.shop_unread or 0),
        created_at=float(item.created_at), updated_at=float(item.updated_at))


def block_check(tx: Transaction, shop_id: str, user_id: str, label: str = BLOCKED) -> Transaction:
    """Add to ``tx`` the check that the shop has not blocked ``user_id`` (label ``blocked``):
    one more item of a transaction the request sends anyway, so no extra call."""
    return tx.check(BlockItem, shop_pk(shop_id), block_sk(user_id), condition=BlockItem.pk.does_not_exist(),
                    label=label)


def raise_if_blocked(cancelled: Cancelled) -> None:
    if BLOCKED in cancelled:
        raise Blocked("This shop does not accept messages, comments or orders from you.") from None


def write_message(tx: Transaction, c: Conversation, m: Message, recipient_id: str, *, automatic: bool = False,
                  label: str = "") -> Transaction:
    """Add to ``tx`` the message (``attribute_not_exists``) and the conversation created if absent
    and moved: last message, list keys, the other side's unread count +1. ``label`` tells the
    items of several messages in one transaction apart."""
    key = time_key(m.created_at, c.conversation_id)
    last = LastMessageMap(message_id=m.message_id, sender=m.sender, sender_id=m.sender_id, text=m.text,
                          photos=list(m.photos), created_at=m.created_at)
    unread = ConversationItem.shop_unread if m.sender == CUSTOMER else ConversationItem.customer_unread
    C = ConversationItem
    actions = [
        C.entity.set(C), C.conversation_id.set(c.conversation_id), C.shop_id.set(c.shop_id),
        C.owner_id.set(C.owner_id | c.owner_id), C.customer_id.set(c.customer_id),
        C.shop_name.set(C.shop_name | c.shop_name), C.customer_name.set(C.customer_name | c.customer_name),
        C.created_at.set(C.created_at | m.created_at), C.updated_at.set(m.created_at), C.last_message.set(last),
        C.gsi1pk.set(my_conversations_gsi(c.customer_id)), C.gsi1sk.set(key),
        C.gsi2pk.set(shop_conversations_gsi(c.shop_id)), C.gsi2sk.set(key),
        unread.add(1),
    ]
    item = MessageItem(conversation_pk(c.conversation_id), message_sk(m.message_id), message_id=m.message_id,
                       conversation_id=c.conversation_id, shop_id=c.shop_id, shop_name=c.shop_name,
                       customer_name=c.customer_name, sender=m.sender, sender_id=m.sender_id,
                       recipient_id=recipient_id, text=m.text, photos=list(m.photos), created_at=m.created_at,
                       automatic=automatic or None)
    return (tx.put(item, condition=MessageItem.pk.does_not_exist(), label=f"message{label}")
            .update(ConversationItem(conversation_pk(c.conversation_id), CONVERSATION_SK), actions,
                    label=f"conversation{label}"))


def guard(tx: Transaction, once: Once, m: Message, *, label: str) -> Transaction:
    """Add to ``tx`` the guard of a once-only message: it cancels the whole if already written."""
    return tx.put(SentItem(once.pk, once.sk, message_id=m.message_id, conversation_id=m.conversation_id,
                           created_at=m.created_at), condition=SentItem.pk.does_not_exist(), label=label)


class ConversationsRepository:
    def get(self, conversation_id: str) -> Conversation | None:
        """One strongly consistent GetItem (the unread counts as written)."""
        try:
            item = with_retries(lambda: ConversationItem.get(conversation_pk(conversation_id), CONVERSATION_SK,
                                                             consistent_read=True))
        except ConversationItem.DoesNotExist:
            return None
        return to_conversation(item)

    def send(self, conversation: Conversation, message: Message, recipient_id: str,
             quota: Ticket | None = None, once: Once | None = None) -> bool:
        """One TransactWriteItems: the message (``attribute_not_exists``), the conversation
        created if absent and moved (last message, list keys, the other side's unread count +1),
        a check that the shop has not blocked the customer (a customer's message, or any guarded
        one), the sender's rate window, and with ``once`` its guard item.
        Blocked → ``Blocked``; a full window → ``RateLimited``; ``once`` already sent → False."""
        c, m = conversation, message
        tx = write_message(Transaction(_connection(), return_consumed_capacity="NONE"), c, m, recipient_id,
                           automatic=once is not None)
        if m.sender == CUSTOMER or once is not None:
            block_check(tx, c.shop_id, c.customer_id)
        add_quota(tx, quota)
        if once is not None:
            guard(tx, once, m, label=SENT)
        try:
            tx.commit(attempts=SEND_ATTEMPTS)
        except Cancelled as cancelled:
            if SENT in cancelled:
                return False
            raise_if_blocked(cancelled)
            raise_if_limited(cancelled, quota, m.created_at)
            raise
        return True

    def read(self, conversation: Conversation, side: str) -> int:
        """Set ``side``'s unread count to 0: one UpdateItem, on condition the reader is still that
        side's participant. Returns the count now (0)."""
        C = ConversationItem
        counter, who = ((C.customer_unread, C.customer_id == conversation.customer_id) if side == CUSTOMER
                        else (C.shop_unread, C.owner_id == conversation.owner_id))
        item = ConversationItem(conversation_pk(conversation.conversation_id), CONVERSATION_SK)
        try:
            with_retries(lambda: item.update(actions=[counter.set(0)], condition=C.pk.exists() & who))
        except UpdateError as error:
            if error.cause_response_code == "ConditionalCheckFailedException":
                raise NotFound("No such conversation.") from None
            raise
        return 0

    def messages(self, conversation_id: str, limit: int, start_key: dict | None) -> Page:
        """Oldest first: one Query of the conversation's partition."""
        results = MessageItem.query(conversation_pk(conversation_id), MessageItem.sk.startswith(MESSAGE_PREFIX),
                                    scan_index_forward=True, limit=limit, last_evaluated_key=start_key)
        return page_of(results, limit, lambda item: to_message(item, conversation_id))

    def of_customer(self, user_id: str, limit: int, start_key: dict | None) -> Page:
        """Latest first: one Query on gsi1."""
        results = ConversationItem.gsi1.query(my_conversations_gsi(user_id), scan_index_forward=False, limit=limit,
                                              last_evaluated_key=start_key)
        return page_of(results, limit, to_conversation)

    def of_shop(self, shop_id: str, limit: int, start_key: dict | None) -> Page:
        """Latest first: one Query on gsi2."""
        results = ConversationItem.gsi2.query(shop_conversations_gsi(shop_id), scan_index_forward=False, limit=limit,
                                              last_evaluated_key=start_key)
        return page_of(results, limit, to_conversation)

    # -- blocks -------------------------------------------------------------------------
    def block(self, block: Block) -> Block:
        """One PutItem (idempotent: blocking again writes the same block)."""
        item = BlockItem(shop_pk(block.shop_id), block_sk(block.user_id), shop_id=block.shop_id,
                         user_id=block.user_id, created_at=block.created_at)
        with_retries(lambda: item.save())
        return block

    def unblock(self, shop_id: str, user_id: str) -> bool:
        """One DeleteItem; False if there was no block."""
        try:
            with_retries(lambda: BlockItem(shop_pk(shop_id), block_sk(user_id)).delete(
                condition=BlockItem.pk.exists()))
        except DeleteError as error:
            if error.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise
        return True

