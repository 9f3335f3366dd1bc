"""Plain records of the social core: follows, posts, engagement and feed entries.

Passed between storage and services; no framework types.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TaggedProduct:
    """A product a post tags, as the post and its feed entries show it: the name and price
    when the post was written or last edited (the product and orders have the live price)."""

    product_id: str
    name: str
    price: int  # won
    currency: str


@dataclass(frozen=True)
class Follow:
    """The edge "``user_id`` follows ``shop_id``"."""

    shop_id: str
    user_id: str
    created_at: float


@dataclass(frozen=True)
class Follower:
    """One row of a shop's follower list (owner only): no contact details."""

    user_id: str
    name: str
    followed_at: float


@dataclass(frozen=True)
class Post:
    post_id: str
    shop_id: str
    author_id: str
    shop_name: str
    shop_handle: str
    text: str
    photos: list[str]
    product_ids: list[str]
    hashtags: list[str]
    like_count: int
    comment_count: int
    share_count: int
    version: int
    created_at: float
    updated_at: float
    products: tuple[TaggedProduct, ...] = ()  # summaries of ``product_ids``, in the same order


@dataclass(frozen=True)
class Comment:
    comment_id: str
    post_id: str
    shop_id: str
    author_id: str
    author_name: str
    text: str
    is_shop_reply: bool
    shop_owner_id: str
    created_at: float
    author_closed: bool = False  # the author closed their account (``services.closing.label_comments``)


@dataclass(frozen=True)
class Share:
    share_id: str
    post_id: str
    shop_id: str
    user_id: str
    share_url: str
    created_at: float


@dataclass(frozen=True)
class Like:
    post_id: str
    liked: bool
    like_count: int


@dataclass(frozen=True)
class FeedEntry:
    """One post in one reader's feed: everything a feed item shows, so a page needs no hydration.

    Compact by design (one write unit, ≤ 1 KB stored): the text is an excerpt (``more`` says
    the post has more), only the first photo is kept (``photo_count`` says how many there are),
    and the first few tagged products carry their name and price as of posting or editing
    (``product_count`` says how many the post tags).
    """

    reader_id: str
    post_id: str
    shop_id: str
    shop_name: str
    shop_handle: str
    excerpt: str
    more: bool
    photo: str | None
    photo_count: int
    product_ids: list[str]
    hashtags: list[str]
    like_count: int
    comment_count: int
    created_at: float
    version: int
    expires_at: float
    products: tuple[TaggedProduct, ...] = ()  # the first few, copied from the post: name and price as of posting/editing
    product_count: int = 0  # how many products the post tags


@dataclass(frozen=True)
class FanoutWork:
    """One chunk of a post's fan-out still to do: the followers in ``(after, until]``.

    ``action`` is ``push`` (a new post), ``refresh`` (an edit: re-copy where it is) or
    ``unpush`` (a deleted post). ``version`` is the post's content version the work is for.
    ``after`` None starts at the first follower, ``until`` None runs to the last. ``path``
    names the chunk in its post's tree: ``""`` for the post's own record, then one digit
    per hand-on (``"3"``, ``"31"``...), so a chunk's key is the same however often it is
    computed, and ``len(path)`` is its number of stream hops from the post.
    """

    post_id: str
    shop_id: str
    action: str
    version: int
    path: str
    after: str | None
    until: str | None
    created_at: float

    @property
    def hops(self) -> int:
        return len(self.path)

    def child(self, index: int, after: str | None, until: str | None, at: float) -> "FanoutWork":
        """The ``index``-th (1..9) chunk this one hands on, for the followers in ``(after, until]``."""
        return FanoutWork(post_id=self.post_id, shop_id=self.shop_id, action=self.action, version=self.version,
                          path=f"{self.path}{index}", after=after, until=until, created_at=at)


@dataclass(frozen=True)
class Upload:
    """A presigned S3 POST for one image."""

    upload_url: str
    fields: dict[str, str]
    key: str
    content_type: str
    max_bytes: int
    expires_at: float


@dataclass(frozen=True)
class StoredObject:
    """What S3 says about an uploaded object."""

    key: str
    size: int
    content_type: str | None


@dataclass
class WriteStats:
    """What a batch of feed writes cost: calls, items and retried (unprocessed) items."""

    calls: int = 0
    items: int = 0
    retried: int = 0

    def add(self, other: "WriteStats") -> "WriteStats":
        self.calls += other.calls
        self.items += other.items
        self.retried += other.retried
        return self
