"""A consumer's subscription to one topic (Java: ``SubscriptionData``, ``FilterAPI``).

Tag expressions (``*``, ``TagA || TagB``) are matched on the broker by tag hash code only;
the client compares the tag text itself, as the Java client does. SQL92 expressions are
compiled here once and evaluated by the broker against each message's properties."""

from dataclasses import dataclass, field
from typing import Any, Final

from rmq.common.message_id import java_hash
from rmq.filter.sql92 import Selector, SelectorSyntaxError, compile_selector

SUB_ALL: Final = "*"
EXPRESSION_TAG: Final = "TAG"
EXPRESSION_SQL92: Final = "SQL92"


class SubscriptionParseError(ValueError):
    """An expression the broker cannot use (SUBSCRIPTION_PARSE_FAILED)."""


@dataclass(frozen=True, slots=True)
class Subscription:
    topic: str
    sub_string: str = SUB_ALL
    expression_type: str = EXPRESSION_TAG
    tags: tuple[str, ...] = ()
    codes: frozenset[int] = field(default_factory=frozenset)
    sub_version: int = 0
    class_filter_mode: bool = False
    # The compiled SQL92 expression; None for tags, or when a heartbeat brought an
    # expression that does not compile (Java then has no "filter data" for the group).
    selector: Selector | None = field(default=None, compare=False)

    @classmethod
    def parse(
        cls, topic: str, expression: str | None, expression_type: str | None, sub_version: int
    ) -> "Subscription":
        kind = (expression_type or EXPRESSION_TAG).upper()
        if kind not in (EXPRESSION_TAG, EXPRESSION_SQL92):
            raise SubscriptionParseError(f"unknown expression type {expression_type!r}")
        text = (expression or "").strip()
        if kind == EXPRESSION_SQL92:
            try:
                selector = compile_selector(text)
            except SelectorSyntaxError as exc:
                raise SubscriptionParseError(f"Invalid MessageSelector. {exc}") from None
            return cls(topic, text, kind, sub_version=sub_version, selector=selector)
        if not text or text == SUB_ALL:
            return cls(topic, SUB_ALL, kind, sub_version=sub_version)
        tags = tuple(t.strip() for t in text.split("||") if t.strip())
        if not tags:
            raise SubscriptionParseError(f"subscription {expression!r} names no tag")
        return cls(topic, text, kind, tags, frozenset(java_hash(t) for t in tags), sub_version)

    @classmethod
    def from_json(cls, obj: Any) -> "Subscription":
        if not isinstance(obj, dict) or not isinstance(obj.get("topic"), str):
            raise SubscriptionParseError("subscription data needs a topic")
        tags = tuple(str(t) for t in obj.get("tagsSet") or ())
        codes = frozenset(int(c) for c in obj.get("codeSet") or ())
        if tags and not codes:
            codes = frozenset(java_hash(t) for t in tags)
        sub_string = str(obj.get("subString") or SUB_ALL)
        kind = str(obj.get("expressionType") or EXPRESSION_TAG).upper()
        selector = None
        if kind == EXPRESSION_SQL92:
            try:
                selector = compile_selector(sub_string)
            except SelectorSyntaxError:
                selector = None
        return cls(
            obj["topic"],
            sub_string,
            kind,
            tags,
            codes,
            int(obj.get("subVersion") or 0),
            bool(obj.get("classFilterMode", False)),
            selector,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "classFilterMode": self.class_filter_mode,
            "codeSet": sorted(self.codes),
            "expressionType": self.expression_type,
            "subString": self.sub_string,
            "subVersion": self.sub_version,
            "tagsSet": list(self.tags),
            "topic": self.topic,
        }

    @property
    def tag_codes(self) -> set[int] | None:
        """What the store filters on: None takes every message."""
        if self.class_filter_mode or self.expression_type != EXPRESSION_TAG:
            return None
        if self.sub_string == SUB_ALL or not self.codes:
            return None
        return set(self.codes)
