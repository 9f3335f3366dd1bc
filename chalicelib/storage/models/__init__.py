"""All PynamoDB models, one module per domain. Importing this package registers them."""

from chalicelib.storage.models import (  # noqa: F401
    accounts, addresses, fanout, feed, notifications, orders, payment_methods, products, rates, relationships, social,
    store_links,
)
from chalicelib.storage.models import automations, conversations, coupons, insights, subscriptions  # noqa: F401
from chalicelib.storage.models import discovery  # noqa: F401
from chalicelib.storage.models import recovery  # noqa: F401
from chalicelib.storage.models import sessions  # noqa: F401
