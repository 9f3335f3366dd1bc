"""All PynamoDB models, one module per domain. Importing this package registers them."""

from chalicelib.storage.models import accounts, fanout, feed, orders, products, relationships, social  # noqa: F401
from chalicelib.storage.models import subscriptions  # noqa: F401
