"""The composition root: services' stores and helpers, built once per warm Lambda container.

Both the HTTP edge (``chalicelib.api``) and the stream and schedule handlers
(``chalicelib.events``) get their objects here; neither imports the other. Everything is
built on first use and cached: nothing runs at import time (no environment reads, no
clients), so a cold start pays only for what its first request or record needs. Tests call
``reset()`` after changing the environment.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the settings model loads pydantic: on the first container, not at import
    from chalicelib.settings import Settings


@dataclass
class Container:
    settings: Settings

    @cached_property
    def accounts(self):
        from chalicelib.storage.accounts import AccountsRepository

        self._bind()
        return AccountsRepository()

    @cached_property
    def shops(self):
        from chalicelib.storage.shops import ShopsRepository

        self._bind()
        return ShopsRepository()

    @cached_property
    def addresses(self):
        from chalicelib.storage.addresses import AddressesRepository

        self._bind()
        return AddressesRepository()

    @cached_property
    def consents(self):
        from chalicelib.storage.consents import ConsentsRepository

        self._bind()
        return ConsentsRepository()

    @cached_property
    def coupons(self):
        from chalicelib.storage.coupons import CouponsRepository

        self._bind()
        return CouponsRepository()

    @cached_property
    def payment_methods(self):
        from chalicelib.storage.payment_methods import PaymentMethodsRepository

        self._bind()
        return PaymentMethodsRepository()

    @cached_property
    def products(self):
        from chalicelib.storage.products import ProductsRepository

        self._bind()
        return ProductsRepository()

    @cached_property
    def orders(self):
        from chalicelib.storage.orders import OrdersRepository

        self._bind()
        return OrdersRepository()

    @cached_property
    def reviews(self):
        from chalicelib.storage.reviews import ReviewsRepository

        self._bind()
        return ReviewsRepository()

    @cached_property
    def relationships(self):
        from chalicelib.storage.relationships import RelationshipsRepository

        self._bind()
        return RelationshipsRepository()

    @cached_property
    def store_links(self):
        from chalicelib.storage.store_links import StoreLinksRepository

        self._bind()
        return StoreLinksRepository()

    @cached_property
    def subscriptions(self):
        from chalicelib.storage.subscriptions import SubscriptionsRepository

        self._bind()
        return SubscriptionsRepository(self.orders)

    @cached_property
    def closing(self):
        from chalicelib.storage.closing import ClosingRepository

        self._bind()
        return ClosingRepository()

    @cached_property
    def conversations(self):
        from chalicelib.storage.conversations import ConversationsRepository

        self._bind()
        return ConversationsRepository()

    @cached_property
    def broadcasts(self):
        from chalicelib.storage.broadcasts import BroadcastsRepository

        self._bind()
        return BroadcastsRepository()

    @cached_property
    def automations(self):
        from chalicelib.storage.automations import AutomationsRepository

        self._bind()
        return AutomationsRepository()

    @cached_property
    def insights(self):
        from chalicelib.storage.insights import InsightsRepository

        self._bind()
        return InsightsRepository()

    @property
    def insight_notices(self):
        """What the weekly summary and the posting nudge need (``services.insights.Context``)."""
        from chalicelib.services.insights import Context

        return Context(store=self.insights, shops=self.shops, posts=self.posts, inbox=self.inbox)

    @property
    def aftercare(self):
        """What the aftercare moments need (``services.automations.Context``); built on each use
        like ``notice_context`` (a few references)."""
        from chalicelib.services.automations import Context

        return Context(store=self.automations, shops=self.shops, directory=self.relationships, orders=self.orders,
                       conversations=self.conversations)

    @cached_property
    def reorders(self):
        from chalicelib.storage.reorders import ReordersRepository

        self._bind()
        return ReordersRepository()

    @cached_property
    def rate_rules(self):
        from chalicelib.services.rates import rules_from

        return rules_from(self.settings)

    @cached_property
    def rates(self):
        from chalicelib.storage.rates import RateWindows

        self._bind()
        return RateWindows()

    @cached_property
    def login_locks(self):
        from chalicelib.services.rates import lock_policy
        from chalicelib.storage.rates import LoginLocks

        self._bind()
        return LoginLocks(lock_policy(self.settings))

    @cached_property
    def tokens(self):
        from chalicelib.services.signing import TokenService

        return TokenService(self._keys, self.settings.token_ttl_seconds)

    @cached_property
    def refresh_tokens(self):
        from chalicelib.services.signing import RefreshTokenService

        return RefreshTokenService(self._keys, self.settings.refresh_ttl_seconds)

    @cached_property
    def sessions(self):
        """Logins and their rotating refresh tokens (``services.sessions``)."""
        from chalicelib.storage.sessions import SessionsRepository

        self._bind()
        return SessionsRepository()

    @cached_property
    def cursors(self):
        from chalicelib.services.signing import CursorCodec

        return CursorCodec(self._keys)

    @cached_property
    def _keys(self):
        from chalicelib.secrets import signing_keys
        from chalicelib.services.signing import Keyring

        return Keyring.of(*signing_keys(self.settings))

    @cached_property
    def _secret(self) -> str:
        return self._keys.current

    @cached_property
    def passwords(self):
        from chalicelib.services.passwords import Passwords

        return Passwords(self.settings.argon2_memory_kib, self.settings.argon2_time_cost)

    @cached_property
    def follows(self):
        from chalicelib.storage.follows import FollowsRepository

        self._bind()
        return FollowsRepository()

    @cached_property
    def posts(self):
        from chalicelib.storage.posts import PostsRepository

        self._bind()
        return PostsRepository()

    @cached_property
    def engagement(self):
        from chalicelib.storage.engagement import EngagementRepository

        self._bind()
        return EngagementRepository()

    @cached_property
    def feed(self):
        from chalicelib.storage.feed import FeedRepository

        self._bind()
        return FeedRepository()

    @cached_property
    def feed_manager(self):
        from chalicelib.services.feed import FeedManager

        return FeedManager(self.feed, self.follows, self.posts, self.fanout)

    @cached_property
    def checkout(self):
        from chalicelib.storage.checkout import CheckoutRepository

        return CheckoutRepository(self.orders)

    @cached_property
    def payments(self):
        """The payment provider (PortOne V2; the local stand-in under ``make run`` and the tests)."""
        from chalicelib.payments import gateway_from

        return gateway_from(self.settings)

    @cached_property
    def fanout(self):
        from chalicelib.storage.fanout import FanoutQueue

        self._bind()
        return FanoutQueue()

    @cached_property
    def media(self):
        from chalicelib.media import S3Media

        s = self.settings
        return S3Media(s.media_bucket, s.region, endpoint=s.s3_endpoint, public_base_url=s.media_base_url)

    @cached_property
    def notifications(self):
        from chalicelib.storage.notifications import NotificationsRepository

        self._bind()
        return NotificationsRepository()

    @cached_property
    def inbox(self):
        """Where other domains hand notifications: ``inbox.add(Notice(...)) -> bool``."""
        from chalicelib import clock
        from chalicelib.services.notifications import Inbox

        return Inbox(self.notifications, clock.now)

    @property
    def notice_context(self):
        """Built on each use (a few references): it names the inbox as it is now, so an inbox
        swapped on the container (a test's recorder, put back afterwards) never lingers in a
        context cached while it was there."""
        from chalicelib.services.notices import Context

        # The relationships repository is the directory: shops (cached), names, pairs.
        return Context(inbox=self.inbox, directory=self.relationships, threads=self.notifications,
                       watches=self.notifications)

    @cached_property
    def sns(self):
        from chalicelib.outbound import Sns

        s = self.settings
        return Sns(s.region, {"ios": s.push_ios_application_arn, "android": s.push_android_application_arn})

    @cached_property
    def ses(self):
        from chalicelib.outbound import Ses

        return Ses(self.settings.region, self.settings.email_sender)

    @cached_property
    def outbound_queue(self):
        """Where the stream queues push, e-mail and SMS work for the outbound function."""
        from chalicelib.outbound import OutboundQueue

        s = self.settings
        return OutboundQueue(s.outbound_queue_url, s.region, endpoint=s.sqs_endpoint)

    @cached_property
    def visitor_secret(self) -> str:
        """The key anonymous visitor ids are signed with (``services.store_links.new_visitor_id``):
        derived from the signing secret, so it is never the development default on AWS."""
        import hashlib
        import hmac

        return hmac.new(self._secret.encode(), b"dongne-visitor-ids", hashlib.sha256).hexdigest()

    @cached_property
    def codes(self):
        """Password-reset and verification codes (``services.recovery``)."""
        from chalicelib.storage.recovery import CodesRepository

        self._bind()
        return CodesRepository()

    @cached_property
    def code_secret(self) -> str:
        """The key codes are stored under (an HMAC, ``services.recovery.code_hash``): derived from
        the signing secret, like ``visitor_secret``."""
        import hashlib
        import hmac

        return hmac.new(self._secret.encode(), b"dongne-codes", hashlib.sha256).hexdigest()

    @cached_property
    def discovery(self):
        """Shop search, region lists, hashtag pages and viewer state (``services.discovery``)."""
        from chalicelib.storage.discovery import DiscoveryRepository

        self._bind()
        return DiscoveryRepository()

    @cached_property
    def _bound(self) -> bool:
        from chalicelib.storage.base import bind

        bind(self.settings)
        return True

    def _bind(self) -> None:
        assert self._bound


_container: Container | None = None


def container() -> Container:
    global _container
    if _container is None:
        from chalicelib.settings import get_settings

        _container = Container(get_settings())
    return _container


def reset() -> None:
    """Drop the cached settings and objects (tests switch between moto and DynamoDB Local)."""
    from chalicelib.settings import reset_settings

    global _container
    reset_settings()
    _container = None
