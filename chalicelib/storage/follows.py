"""Follow edges and the two counters they keep exact."""

from __future__ import annotations

from chalicelib.records.accounts import Shop
from chalicelib.records.common import Page
from chalicelib.records.social import Follow, Follower
from chalicelib.storage.accounts import PROFILE, _connection
from chalicelib.storage.models.accounts import ShopItem, UserItem, shop_pk, user_pk
from chalicelib.storage.models.social import (
    FOLLOWER_PREFIX, FollowItem, follower_sk, followers_gsi, following_gsi, time_key,
)
from chalicelib.storage.paging import page_of
from chalicelib.storage.shops import to_shop
from chalicelib.records.rates import Ticket
from chalicelib.storage.rates import add_quota, raise_if_limited
from chalicelib.storage.retry import with_retries
from chalicelib.storage.transactions import Cancelled, Transaction

# Many users following one shop at once all update the shop's counter: transactions on
# one item conflict and are retried. Eight jittered attempts (≈ 5 s worst case) absorb a
# burst of a few dozen simultaneous follows before answering 503.
FOLLOW_ATTEMPTS = 8


def to_follow(item: FollowItem) -> Follow:
    return Follow(shop_id=item.shop_id, user_id=item.user_id, created_at=item.created_at)


def _followers_until(until: str | None):
    """The sort-key condition for a shop's followers up to ``until`` (included; None: all)."""
    if until is None:
        return FollowItem.sk.startswith(FOLLOWER_PREFIX)
    return FollowItem.sk.between(FOLLOWER_PREFIX, follower_sk(until))


class FollowsRepository:
    def follow(self, edge: Follow, quota: Ticket | None = None) -> str:
        """Write the edge and bump both counters in one transaction (with ``quota``, the
        user's rate window too: ``RateLimited`` when it is full).

        Returns ``"followed"``, ``"already"`` (the edge existed: nothing changed) or
        ``"refused"`` (no such shop, the user owns it, or the shop is closed).
        """
        item = FollowItem(
            shop_pk(edge.shop_id), follower_sk(edge.user_id), shop_id=edge.shop_id, user_id=edge.user_id,
            created_at=edge.created_at,
            gsi1pk=followers_gsi(edge.shop_id), gsi1sk=time_key(edge.created_at, edge.user_id),
            gsi2pk=following_gsi(edge.user_id), gsi2sk=time_key(edge.created_at, edge.shop_id),
        )
        tx = (Transaction(_connection())
              .put(item, condition=FollowItem.pk.does_not_exist(), label="edge")
              .update(ShopItem(shop_pk(edge.shop_id), PROFILE), [ShopItem.follower_count.add(1)],
                      condition=ShopItem.pk.exists() & (ShopItem.owner_id != edge.user_id)
                      & ShopItem.closed_at.does_not_exist(), label="shop")
              .update(UserItem(user_pk(edge.user_id), PROFILE), [UserItem.following_count.add(1)],
                      condition=UserItem.pk.exists(), label="user"))
        add_quota(tx, quota)
        try:
            tx.commit(attempts=FOLLOW_ATTEMPTS)
        except Cancelled as cancelled:
            if "edge" in cancelled:
                return "already"
            raise_if_limited(cancelled, quota, edge.created_at)
            return "refused"
        return "followed"

    def unfollow(self, shop_id: str, user_id: str, quota: Ticket | None = None, now: float = 0.0) -> bool:
        """Delete the edge and lower both counters; ``False`` when there was no edge."""
        tx = (Transaction(_connection())
              .delete(FollowItem(shop_pk(shop_id), follower_sk(user_id)), condition=FollowItem.pk.exists(),
                      label="edge")
              .update(ShopItem(shop_pk(shop_id), PROFILE), [ShopItem.follower_count.add(-1)],
                      condition=ShopItem.pk.exists(), label="shop")
              .update(UserItem(user_pk(user_id), PROFILE), [UserItem.following_count.add(-1)],
                      condition=UserItem.pk.exists(), label="user"))
        add_quota(tx, quota)
        try:
            tx.commit(attempts=FOLLOW_ATTEMPTS)
        except Cancelled as cancelled:
            if "edge" not in cancelled:
                raise_if_limited(cancelled, quota, now)
            return False  # no edge (or, impossibly, no shop or user): nothing changed
        return True

    # --- closing an account ---------------------------------------------------------------

    def followed_shop_ids(self, user_id: str) -> list[str]:
        """Every shop the user follows: gsi2 pages of 100 (keys and the shop id only)."""
        results = FollowItem.gsi2.query(following_gsi(user_id), page_size=100,
                                        attributes_to_get=["pk", "sk", "entity", "shop_id"])
        return with_retries(lambda: [item.shop_id for item in results])

    def remove_follower(self, shop_id: str, user_id: str) -> bool:
        """Undo a closed account's follow: the edge and the shop's counter in one transaction
        (the account's own counter is gone with its profile). ``False`` if it was undone."""
        tx = (Transaction(_connection())
              .delete(FollowItem(shop_pk(shop_id), follower_sk(user_id)), condition=FollowItem.pk.exists(),
                      label="edge")
              .update(ShopItem(shop_pk(shop_id), PROFILE), [ShopItem.follower_count.add(-1)],
                      condition=ShopItem.pk.exists(), label="shop"))
        try:
            tx.commit(attempts=FOLLOW_ATTEMPTS)
        except Cancelled as cancelled:
            if "edge" in cancelled:
                return False
            # The shop is gone: remove the edge alone.
            with_retries(lambda: FollowItem(shop_pk(shop_id), follower_sk(user_id)).delete())
        return True

    def get_edge(self, shop_id: str, user_id: str) -> Follow | None:
        """Strongly consistent: the stream handlers ask whether an edge still exists."""
        try:
            return to_follow(FollowItem.get(shop_pk(shop_id), follower_sk(user_id), consistent_read=True))
        except FollowItem.DoesNotExist:
            return None

    def followers(self, shop_id: str, limit: int, start_key: dict | None) -> Page:
        """A page of the shop's followers, newest first, with their display names."""
        results = FollowItem.gsi1.query(followers_gsi(shop_id), scan_index_forward=False, limit=limit,
                                        last_evaluated_key=start_key)
        page = page_of(results, limit, to_follow)
        names = {}
        if page.items:
            keys = [(user_pk(edge.user_id), PROFILE) for edge in page.items]
            names = {u.user_id: u.name for u in UserItem.batch_get(keys, attributes_to_get=["user_id", "name"])}
        rows = [Follower(user_id=e.user_id, name=names.get(e.user_id, ""), followed_at=e.created_at)
                for e in page.items]
        return Page(items=rows, last_key=page.last_key)

    def following(self, user_id: str, limit: int, start_key: dict | None) -> Page:
        """A page of ``(shop, followed_at)`` the user follows, newest first."""
        results = FollowItem.gsi2.query(following_gsi(user_id), scan_index_forward=False, limit=limit,
                                        last_evaluated_key=start_key)
        page = page_of(results, limit, to_follow)
        shops: dict[str, Shop] = {}
        if page.items:
            keys = [(shop_pk(edge.shop_id), PROFILE) for edge in page.items]
            shops = {s.shop_id: to_shop(s) for s in ShopItem.batch_get(keys)}
        rows = [(shops[e.shop_id], e.created_at) for e in page.items if e.shop_id in shops]
        return Page(items=rows, last_key=page.last_key)

    def follower_page(self, shop_id: str, after: str | None, limit: int,
                      until: str | None = None) -> tuple[list[str], str | None]:
        """Up to ``limit`` follower ids in ``(after, until]`` (in id order), and the next
        follower of that range after them, or None when the page took the range's last one:
        one Query of the shop's partition (keys only, so ~1 KB reads cover ~25 followers),
        reading one key past the page so that "more?" is known without another Query."""
        start = {"pk": {"S": shop_pk(shop_id)}, "sk": {"S": follower_sk(after)}} if after else None
        condition = _followers_until(until)
        results = FollowItem.query(shop_pk(shop_id), condition, limit=limit + 1, page_size=limit + 1,
                                   last_evaluated_key=start, attributes_to_get=["pk", "sk", "entity"])
        ids = [item.sk[len(FOLLOWER_PREFIX):] for item in results]
        return ids[:limit], (ids[limit] if len(ids) > limit else None)

    def last_follower(self, shop_id: str, until: str | None = None) -> str | None:
        """The shop's last follower id (at most ``until``), or None: one Query, newest key
        first, one key read."""
        condition = _followers_until(until)
        for item in FollowItem.query(shop_pk(shop_id), condition, scan_index_forward=False, limit=1, page_size=1,
                                     attributes_to_get=["pk", "sk", "entity"]):
            return item.sk[len(FOLLOWER_PREFIX):]
        return None
