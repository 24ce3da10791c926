"""JSON as the Java side writes and reads it (Alibaba fastjson 1.2.x).

Writing: fastjson sorts field names and omits nulls; rmq writes standard JSON with sorted
keys, which every fastjson reader, the Go and the C++ client accept.

Reading: fastjson writes non-string map keys raw: integers unquoted (``{0:"addr"}``) and
objects as nested objects (``{{"brokerName":"b","queueId":0,"topic":"T"}:5}``). Such text
is not JSON; :func:`loads` parses standard JSON fast and falls back to a lenient parser
that accepts both quirks (and single-quoted strings). An object used as a key becomes a
:class:`ObjectKey` (a hashable sorted tuple of its items).
"""

from typing import Any, Final

import orjson

from rmq.common.message_id import java_hash


class ObjectKey(tuple[tuple[str, Any], ...]):
    """A JSON object that fastjson wrote as a map key."""

    def as_dict(self) -> dict[str, Any]:
        return dict(self)


class FastjsonError(ValueError):
    """Text that neither JSON nor fastjson's dialect can parse."""


def dumps(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)


def loads(data: bytes | str) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        pass
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    parser = _Lenient(text)
    value = parser.value()
    parser.skip_ws()
    if parser.pos != len(text):
        raise FastjsonError(f"trailing data at offset {parser.pos}")
    return value


_WS: Final = frozenset(" \t\r\n")
_ESCAPES: Final = {'"': '"', "'": "'", "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n",
                   "r": "\r", "t": "\t"}  # fmt: skip
_BAREWORD_END: Final = frozenset(" \t\r\n,:}]")


class _Lenient:
    __slots__ = ("pos", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, what: str) -> FastjsonError:
        return FastjsonError(f"{what} at offset {self.pos}")

    def skip_ws(self) -> None:
        text, pos = self.text, self.pos
        while pos < len(text) and text[pos] in _WS:
            pos += 1
        self.pos = pos

    def peek(self) -> str:
        self.skip_ws()
        if self.pos >= len(self.text):
            raise self.fail("unexpected end")
        return self.text[self.pos]

    def value(self) -> Any:
        ch = self.peek()
        if ch == "{":
            return self.obj()
        if ch == "[":
            return self.arr()
        if ch in "\"'":
            return self.string()
        return self.bareword(as_key=False)

    def obj(self) -> dict[Any, Any]:
        self.pos += 1
        out: dict[Any, Any] = {}
        if self.peek() == "}":
            self.pos += 1
            return out
        while True:
            ch = self.peek()
            key: Any
            if ch == "{":
                key = ObjectKey(sorted(self.obj().items()))
            elif ch in "\"'":
                key = self.string()
            else:
                key = self.bareword(as_key=True)
            if self.peek() != ":":
                raise self.fail("expected ':'")
            self.pos += 1
            out[key] = self.value()
            ch = self.peek()
            self.pos += 1
            if ch == "}":
                return out
            if ch != ",":
                raise self.fail("expected ',' or '}'")

    def arr(self) -> list[Any]:
        self.pos += 1
        out: list[Any] = []
        if self.peek() == "]":
            self.pos += 1
            return out
        while True:
            out.append(self.value())
            ch = self.peek()
            self.pos += 1
            if ch == "]":
                return out
            if ch != ",":
                raise self.fail("expected ',' or ']'")

    def string(self) -> str:
        text = self.text
        quote = text[self.pos]
        pos = self.pos + 1
        parts: list[str] = []
        while True:
            if pos >= len(text):
                raise self.fail("unterminated string")
            ch = text[pos]
            if ch == quote:
                self.pos = pos + 1
                return "".join(parts)
            if ch == "\\":
                if pos + 1 >= len(text):
                    raise self.fail("unterminated escape")
                esc = text[pos + 1]
                if esc == "u":
                    digits = text[pos + 2 : pos + 6]
                    try:
                        parts.append(chr(int(digits, 16)))
                    except ValueError:
                        raise self.fail("bad \\u escape") from None
                    pos += 6
                    continue
                if esc not in _ESCAPES:
                    raise self.fail("bad escape")
                parts.append(_ESCAPES[esc])
                pos += 2
                continue
            parts.append(ch)
            pos += 1

    def bareword(self, *, as_key: bool) -> Any:
        start = self.pos
        text = self.text
        pos = start
        while pos < len(text) and text[pos] not in _BAREWORD_END:
            pos += 1
        word = text[start:pos]
        if not word:
            raise self.fail("unexpected character")
        self.pos = pos
        if word == "true":
            return True
        if word == "false":
            return False
        if word == "null":
            return None
        try:
            return int(word)
        except ValueError:
            pass
        try:
            return float(word)
        except ValueError:
            pass
        if as_key:
            return word
        raise self.fail(f"unexpected word {word!r}")


def dumps_object_keyed(entries: list[tuple[dict[str, Any], Any]]) -> bytes:
    """A map whose keys are objects, written as fastjson does (``{{...}:value}``): the
    form mqadmin's topicStatus, consumerProgress and resetOffsetByTime parse."""
    return b"{" + b",".join(dumps(k) + b":" + dumps(v) for k, v in entries) + b"}"


def dumps_pretty(value: Any, maps: frozenset[str] = frozenset(), _indent: int = 0,
                 _as_map: bool = False) -> str:  # fmt: skip
    """fastjson's ``toJson(true)`` layout, which mqadmin prints: tab indents, no spaces,
    sorted bean fields; objects named in ``maps`` are Java maps, written fastjson's other
    way (entries on the opening line, integer keys bare, closing brace on its own line)."""
    tab = "\t"
    if isinstance(value, dict):
        if not value:
            return "{}"
        if _as_map:
            parts = []
            for i, (key, item) in enumerate(value.items()):
                shown = key if isinstance(key, int) or str(key).lstrip("-").isdigit() else dumps(
                    str(key)).decode()  # fmt: skip
                lead = "" if i == 0 else "\n" + tab * (_indent + 1)
                parts.append(f"{lead}{shown}:{dumps_pretty(item, maps, _indent + 1)}")
            return "{" + ",".join(parts) + "\n" + tab * _indent + "}"
        fields = []
        for key in sorted(value):
            item = dumps_pretty(value[key], maps, _indent + 1, key in maps)
            fields.append(tab * (_indent + 1) + dumps(str(key)).decode() + ":" + item)
        return "{\n" + ",\n".join(fields) + "\n" + tab * _indent + "}"
    if isinstance(value, list):
        if not value:
            return "[]"
        items = [tab * (_indent + 1) + dumps_pretty(v, maps, _indent + 1) for v in value]
        return "[\n" + ",\n".join(items) + "\n" + tab * _indent + "]"
    return dumps(value).decode()


def _java_int(value: int) -> int:
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value >= 1 << 31 else value


def java_hashmap_order(keys: list[Any], hashes: list[int]) -> list[Any]:
    """The order a Java ``HashMap``/``HashSet`` built with default capacity by adding ``keys``
    in turn iterates them (bucket by bucket, insertion order within a bucket): what
    mqadmin's output follows wherever Java prints such a map."""
    capacity = 16
    while len(keys) > capacity * 3 // 4:
        capacity *= 2
    slots = []
    for position, (key, h) in enumerate(zip(keys, hashes, strict=True)):
        h &= 0xFFFFFFFF
        spread = h ^ (h >> 16)
        slots.append((spread & (capacity - 1), position, key))
    return [key for _, _, key in sorted(slots)]


def java_message_queue_hash(topic: str, broker_name: str, queue_id: int) -> int:
    """Java ``MessageQueue.hashCode()``."""
    result = 31 + java_hash(broker_name)
    result = _java_int(31 * result + queue_id)
    return _java_int(31 * result + java_hash(topic))
