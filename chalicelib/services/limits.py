"""The social core's limits, in one small module the schemas can import at cold start
without pulling in the services themselves."""

from __future__ import annotations

import re

# Text limit in characters (Unicode code points after NFC), not bytes: 2,000 Korean
# syllables are 6,000 bytes of UTF-8. Instagram's caption limit is 2,200; a shop's post
# is a caption, and the feed entry copies the whole text, so it stays bounded.
MAX_TEXT_CHARS = 2000
MAX_PRODUCTS = 20
MAX_HASHTAGS = 30
MAX_HASHTAG_CHARS = 50
MAX_COMMENT_CHARS = 500
MAX_PHOTOS = 10
# A message (문의) is a chat line, not a post: shorter, and a few photos of the product at hand.
MAX_MESSAGE_CHARS = 1000
MAX_BROADCAST_CHARS = 1000
MAX_MESSAGE_PHOTOS = 4

# White space, spelled out: what `\s` means differs between the document's regex dialect
# (ECMA-262), the server's (Rust's regex crate) and Python's (`str.strip` keeps U+FEFF), so
# patterns never say `\s` and a text's blankness is this set's, wherever it is checked.
SPACE = r"\t\n\v\f\r \x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_BLANK = re.compile(f"[{SPACE}]*")


def is_blank(text: str) -> bool:
    """Empty or only white space (``SPACE``), as the document's ``pattern`` says it."""
    return _BLANK.fullmatch(text) is not None

# Uploads. The allow-list: content type -> file extension of the stored key.
ALLOWED_TYPES: dict[str, str] = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
    "image/heic": "heic",
}
# 10 MB: a 12-megapixel phone photo is 2-5 MB as JPEG/HEIC; anything larger is not a photo
# the app should be sending (it resizes before upload).
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
# Long enough for a slow mobile upload, short enough that a leaked form is soon useless.
UPLOAD_EXPIRES_SECONDS = 600
# uploads/<user_id>/<ULID>.<ext>: the user's own prefix, a fresh id per upload.
KEY_PATTERN = re.compile(
    r"^uploads/(?P<user>[0-9A-Za-z_-]{1,64})/(?P<id>[0-9A-HJKMNP-TV-Z]{26})\.(?P<ext>jpg|png|webp|heic)$")

# Store links (services.store_links): what a shop may pay per referred order, and a code's length.
REWARD_PERCENT = (1, 30)  # percent of the subtotal, rounded down
REWARD_FIXED = (100, 50_000)  # won, and never more than the order's subtotal
LINK_CODE_LENGTH = 10

# Checkout (services.fulfilment, services.addresses). The address book is one item read whole
# by the order path: 20 entries of a few hundred bytes stay far below an item's 400 KB and one
# read unit of a few KB (Coupang and Naver keep about as many 배송지).
MAX_ADDRESSES = 20
DELIVERY_FEE = (0, 100_000)  # won per order
FREE_OVER = (1, 10_000_000)  # won of subtotal from which delivery is free
BANK_TRANSFER_HOURS = (1, 72)  # how long an unpaid bank-transfer order holds its stock
DEFAULT_BANK_TRANSFER_HOURS = 24
POSTING_NUDGE_DAYS = (0, 60)  # 0: no posting nudge
DEFAULT_POSTING_NUDGE_DAYS = 7
