"""All PynamoDB models, one module per domain. Importing this package registers them."""

from chalicelib.storage.models import accounts, feed  # noqa: F401
from chalicelib.storage.models import relationships  # noqa: F401
