"""The search keys of a shop's name and handle, and how well a query matches them.

Pure text functions (no I/O): the DynamoDB search index (``storage.discovery``) writes one
item per key and answers a query from the one partition its key names. A search engine that
replaces that index (see docs/discovery.md) does its own analysis and never needs these.

* **fold**: NFC, case-folded, only letters and digits (spaces, ``_``, ``.`` and punctuation
  dropped): ``"망원동 두부가게"`` → ``"망원동두부가게"``, ``"Mangwon_Tofu"`` → ``"mangwontofu"``.
* **keys** of a shop: the first character (and its 초성) of each word, every two-character
  piece (bigram) of its folded handle and name, and every bigram of the name's initial
  consonants (초성: ``두부가게`` → ``ㄷㅂㄱㄱ`` → ``ㄷㅂ``, ``ㅂㄱ``, ``ㄱㄱ``). At most ``MAX_KEYS``,
  in that order, so a long name costs no more than a short one (the end of a very long
  name is then found by its start, its handle or its 초성 only).
* **a query's key**: its first bigram (a one-character query: that character, which matches the
  start of a word). The partition of that key holds every shop that can match; the whole query
  is then checked against each candidate's name and handle (``relevance``).
"""

from __future__ import annotations

import math
import unicodedata

# Hangul syllables and their initial consonants (초성), as compatibility jamo (what keyboards type).
_SYLLABLES = (0xAC00, 0xD7A3)
_CHOSEONG = "ㄱㄲㄴㄷㄸㄹㅁㅂㅃㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ"
# Conjoining choseong (U+1100..U+1112), which some input methods send, map to the same jamo.
_CONJOINING = {chr(0x1100 + i): c for i, c in enumerate(_CHOSEONG)}

# Keys per shop (each is one index item per region scope): a 10-character name and a
# 12-character handle need about 30.
MAX_KEYS = 64
# The longest query, folded; a longer one matches no name (names are at most 60 characters).
MAX_QUERY_CHARS = 40


def _char(c: str) -> str:
    return _CONJOINING.get(c, c)


def fold(text: str) -> str:
    """Letters and digits only, NFC and case-folded."""
    return "".join(_char(c) for c in unicodedata.normalize("NFC", text).casefold() if c.isalnum())


def words(text: str) -> list[str]:
    """The folded words of ``text`` (split at anything that is not a letter or digit)."""
    out, current = [], []
    for c in unicodedata.normalize("NFC", text).casefold():
        if c.isalnum():
            current.append(_char(c))
        elif current:
            out.append("".join(current))
            current = []
    if current:
        out.append("".join(current))
    return out


def choseong(text: str) -> str:
    """Each Hangul syllable of (folded) ``text`` as its initial consonant; other characters kept."""
    return "".join(_CHOSEONG[(ord(c) - _SYLLABLES[0]) // 588] if _SYLLABLES[0] <= ord(c) <= _SYLLABLES[1] else c
                   for c in text)


def is_jamo(c: str) -> bool:
    return c in _CHOSEONG


def _bigrams(text: str) -> list[str]:
    return [text[i:i + 2] for i in range(len(text) - 1)]


def keys_of(name: str, handle: str) -> list[str]:
    """The shop's search keys, deduplicated, earliest first, at most ``MAX_KEYS``."""
    folded_name, folded_handle = fold(name), fold(handle)
    starts: list[str] = []
    for word in words(name) + words(handle):
        starts.append(word[0])
        starts.append(choseong(word[0]))
    initials = [g for g in _bigrams(choseong(folded_name)) if is_jamo(g[0]) and is_jamo(g[1])]
    found: dict[str, None] = {}
    for key in (*starts, *_bigrams(folded_handle), *_bigrams(folded_name), *initials):
        found.setdefault(key, None)
    return list(found)[:MAX_KEYS]


def query_key(folded: str) -> str:
    """The one key whose partition holds every shop ``folded`` (a folded, non-empty query) can match."""
    return folded[:2]


def relevance(folded: str, name: str, handle: str) -> int:
    """How well a folded query matches a shop, 0 for not at all.

    6 the whole name or handle, 5 its start, 4 the start of a word, 3 inside it, 2 the start
    of the name's initial consonants (초성), 1 inside them.
    """
    texts = (fold(name), fold(handle))
    if folded in texts:
        return 6
    if any(t.startswith(folded) for t in texts):
        return 5
    if any(w.startswith(folded) for w in words(name) + words(handle)):
        return 4
    if len(folded) > 1 and any(folded in t for t in texts):
        return 3
    initials = choseong(texts[0])
    if len(folded) > 1 and initials.startswith(folded):
        return 2
    if len(folded) > 1 and folded in initials:
        return 1
    if len(folded) == 1 and any(choseong(w[0]) == folded for w in words(name)):
        return 2
    return 0


def follower_bucket(count: int) -> int:
    """Followers in steps of about 41% (``floor(2·log2(count + 1))``: 0 | 1 | 2 | 3–4 | 5–6 | 7–10 …):
    what the index sorts by. The step changes 25 times on the way to 10,000 followers, so a
    shop's index items are rewritten that often, not on every follow.
    """
    return int(2 * math.log2(max(0, count) + 1))
