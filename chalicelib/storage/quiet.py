"""Quiet writes: changes of an item that no stream handler reacts to stay off the stream function.

A like moves its post's ``like_count``, a new post its shop's ``post_count``, a review sets its
order's ``review_id``: the item changes, the table's stream records a MODIFY, and nothing on the
stream cares (the feed copies counts only when it copies a post, discovery indexes hashtags and
follower counts, the order's handlers key on its status). Such a write is *quiet*: it also sets
the item's ``quiet`` attribute (a string: the attributes it moved), and the event source
mapping's filter (``events.stream.filter_criteria``) lets a MODIFY through only when its new
image has no ``quiet``.

Every other update of the item removes the attribute, so the next change that matters is
delivered. That is enforced here, not by each writer remembering: the models with quiet writes
mix in ``QuietWrites``, whose ``update`` (an UpdateItem) and ``get_update_kwargs_from_instance``
(an update inside a TransactWrite, ours or PynamoDB's) add ``REMOVE quiet`` to any actions that
do not set it. A put replaces the whole item and ``quiet`` is not a model attribute (it is never
read back), so a put drops it too. A quiet write may move only the attributes its model lists in
``QUIET`` — anything else raises ``ValueError`` before it is sent, so a change some handler reads
cannot be made quietly by mistake (tests/unit/test_quiet_writes.py checks that no handler of
these entities reacts to those attributes).

A dropped quiet record loses nothing: the item's next delivered MODIFY carries, in its old image,
the state the quiet writes left.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, cast

from pynamodb.expressions.operand import Path
from pynamodb.expressions.operand import Path
from pynamodb.expressions.update import Action, SetAction

if TYPE_CHECKING:
    from pynamodb.expressions.condition import Condition
    from pynamodb.models import Model

    _Base = Model
else:
    _Base = object

ATTRIBUTE = "quiet"


def _name(action: Action) -> str:
    """The top-level attribute an update action writes."""
    target = cast(Path, action.values[0])  # an update action's first operand is the attribute's path
    return str(target.path[0])


def _is_quiet_mark(action: Action) -> bool:
    return isinstance(action, SetAction) and _name(action) == ATTRIBUTE


class QuietWrites(_Base):
    """Mixed into a model (before ``MainItem``) whose items have quiet writes; see the module."""

    # The attributes a quiet write of this model may move: none of its stream handlers reads them.
    QUIET: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def quietly(cls, actions: list[Action]) -> list[Action]:
        """``actions`` as a quiet write: they may move only ``QUIET`` attributes, and mark the item."""
        moved = sorted({_name(action) for action in actions})
        if not actions or not set(moved) <= cls.QUIET:
            raise ValueError(f"{cls.__name__}: a quiet write moves only {sorted(cls.QUIET)}, not {moved}")
        return [*actions, Path(ATTRIBUTE).set(",".join(moved))]

    @classmethod
    def _marked(cls, actions: list[Action]) -> list[Action]:
        marks = [action for action in actions if _is_quiet_mark(action)]
        if not marks:
            if any(_name(action) == ATTRIBUTE for action in actions):
                return actions  # it removes the mark itself
            return [*actions, Path(ATTRIBUTE).remove()]
        moved = {_name(action) for action in actions if not _is_quiet_mark(action)}
        if len(marks) > 1 or not moved <= cls.QUIET:
            raise ValueError(f"{cls.__name__}: a quiet write moves only {sorted(cls.QUIET)}, not {sorted(moved)}")
        return actions

    def update(self, actions: list[Action], condition: Condition | None = None, *,
               add_version_condition: bool = True) -> Any:
        return super().update(self._marked(actions), condition, add_version_condition=add_version_condition)

    def get_update_kwargs_from_instance(self, actions: list[Action], condition: Condition | None = None,
                                        return_values_on_condition_failure: str | None = None, *,
                                        add_version_condition: bool = True) -> dict[str, Any]:
        return super().get_update_kwargs_from_instance(
            self._marked(actions), condition, return_values_on_condition_failure,
            add_version_condition=add_version_condition)
