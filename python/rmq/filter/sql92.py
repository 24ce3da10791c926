"""RocketMQ's SQL92 message selector (Java: ``SelectorParser``): parsed and checked here,
evaluated per message by the store (``rmq._store.SqlFilter``, Java's ``ComparisonExpression``,
``LogicExpression``, ``UnaryExpression``) as it reads the queue, without the GIL.

The grammar and its checks follow ``SelectorParser.jj``: ``AND OR NOT``, ``= <> > >= < <=``,
``[NOT] BETWEEN a AND b``, ``prop [NOT] IN ('x', ...)``, ``IS [NOT] NULL``, unary ``+ -``,
string, decimal, float, ``TRUE FALSE NULL`` literals, ``--`` and ``/* */`` comments.
Evaluation is three-valued (None is SQL's unknown) and a message matches only on TRUE; an
error while evaluating means "no match", as on Java's broker. Like Java, tokens after a
complete expression are not read."""

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

from rmq._store import SqlFilter
from rmq.common.message import encode_properties
from rmq.filter import java_values as jv
from rmq.filter.sql92_lexer import SelectorSyntaxError, Token, string_value, tokens

# The checked expression as nested tuples, the form rmq._store.SqlFilter evaluates.
Tree = tuple[object, ...]
_DOUBLE_MAX: Final = 1.7976931348623157e308
_DOUBLE_MIN: Final = 4.9e-324
PARSE_CACHE_SIZE: Final = 100  # Java's SelectorParser keeps as many


@dataclass(frozen=True, slots=True)
class _Node:
    tree: Tree
    text: str
    boolean: bool = False  # Java: implements BooleanExpression
    constant: bool = False  # Java: a ConstantExpression (TRUE/FALSE/NULL are both)
    value: jv.Value = None
    prop: str | None = None


def _constant_tree(value: jv.Value) -> Tree:
    if value is None:
        return ("null",)
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, jv.JavaLong):
        return ("long", int(value))
    if isinstance(value, int):
        return ("int", value)
    if isinstance(value, float):
        return ("double", value)
    return ("str", value)


def _constant(value: jv.Value, text: str, boolean: bool = False) -> _Node:
    return _Node(_constant_tree(value), text, boolean=boolean, constant=True, value=value)


def _as_boolean(node: _Node) -> _Node:
    if node.boolean:
        return node
    if node.prop is not None:
        return _Node(("as_bool", node.tree), node.text, boolean=True)
    raise SelectorSyntaxError(f"Expression will not result in a boolean value: {node.text}")


def _not(node: _Node) -> _Node:
    return _Node(("not", node.tree), f"(NOT {node.text})", boolean=True)


def _and(left: _Node, right: _Node) -> _Node:
    return _Node(("and", left.tree, right.tree), f"({left.text} AND {right.text})", boolean=True)


def _or(left: _Node, right: _Node) -> _Node:
    return _Node(("or", left.tree, right.tree), f"({left.text} OR {right.text})", boolean=True)


def _check_orderable(node: _Node) -> None:
    numeric = node.constant and type(node.value) in (int, jv.JavaLong, float)
    if (node.constant and not numeric) or (node.boolean and not node.constant):
        raise SelectorSyntaxError(f"Value '{node.text}' cannot be compared.")


def _ordering(left: _Node, right: _Node, symbol: str) -> _Node:
    _check_orderable(left)
    _check_orderable(right)
    tree = ("ord", symbol, left.tree, right.tree)
    return _Node(tree, f"{left.text} {symbol} {right.text}", boolean=True)


def _equality(left: _Node, right: _Node, checked: bool = True) -> _Node:
    if checked:
        for side in (left, right):
            if side.constant and side.value is None:
                raise SelectorSyntaxError(f"'{side.text}' cannot be compared.")
        if left.constant and right.constant and left.boolean and not right.boolean:
            raise SelectorSyntaxError(f"'{left.text}' cannot be compared with '{right.text}'")
    return _Node(("eq", left.tree, right.tree), f"{left.text} = {right.text}", boolean=True)


def _between(value: _Node, low: _Node, high: _Node) -> _Node:
    if low.constant and high.constant:
        if low.value is None or high.value is None:
            raise SelectorSyntaxError("Illegal values of between, values can not be null!")
        try:
            inverted = jv.compare(high.value, low.value) < 0
        except jv.EvaluationError as exc:
            raise SelectorSyntaxError(str(exc)) from None
        if inverted:
            raise SelectorSyntaxError(
                f"Illegal values of between, left value({low.text}) must less than or equal "
                f"to right value({high.text})"
            )
    return _and(_ordering(value, low, ">="), _ordering(value, high, "<="))


def _in(left: _Node, values: list[str], negated: bool) -> _Node:
    if left.prop is None:
        raise SelectorSyntaxError(f"Expected a property for In expression, got: {left.text}")
    word = "NOT IN" if negated else "IN"
    tree = ("in", left.prop, list(values), negated)
    return _Node(tree, f"{left.prop} {word} ({', '.join(values)})", boolean=True)


def _negate(node: _Node) -> _Node:
    return _Node(("neg", node.tree), f"(- {node.text})")


class _Parser:
    def __init__(self, text: str) -> None:
        self._tokens: Iterator[Token] = tokens(text)
        self._ahead: list[Token] = []

    def _peek(self, n: int = 0) -> Token:
        while len(self._ahead) <= n:
            self._ahead.append(next(self._tokens))
        return self._ahead[n]

    def _take(self) -> Token:
        token = self._peek()
        self._ahead.pop(0)
        return token

    def _skip(self, n: int) -> None:
        for _ in range(n):
            self._take()

    def _is(self, text: str, n: int = 0) -> bool:
        token = self._peek(n)
        return token.kind in ("KEYWORD", "OP") and token.text == text

    def _expect(self, text: str) -> Token:
        token = self._take()
        if token.kind not in ("KEYWORD", "OP") or token.text != text:
            found = token.text or "end of expression"
            raise SelectorSyntaxError(f"expected {text!r} at column {token.pos + 1}, got {found!r}")
        return token

    def selector(self) -> _Node:
        return _as_boolean(self._or_expression())

    def _or_expression(self) -> _Node:
        left = self._and_expression()
        while self._is("OR"):
            self._take()
            left = _or(_as_boolean(left), _as_boolean(self._and_expression()))
        return left

    def _and_expression(self) -> _Node:
        left = self._equality()
        while self._is("AND"):
            self._take()
            left = _and(_as_boolean(left), _as_boolean(self._equality()))
        return left

    def _equality(self) -> _Node:
        left = self._comparison()
        while True:
            if self._is("="):
                self._take()
                left = _equality(left, self._comparison())
            elif self._is("<>"):
                self._take()
                left = _not(_equality(left, self._comparison()))
            elif self._is("IS") and self._is("NULL", 1):
                self._skip(2)
                left = _equality(left, _constant(None, "NULL", True), checked=False)
            elif self._is("IS"):
                self._skip(1)
                self._expect("NOT")
                self._expect("NULL")
                left = _not(_equality(left, _constant(None, "NULL", True), checked=False))
            else:
                return left

    def _comparison(self) -> _Node:
        left = self._unary()
        while True:
            token = self._peek()
            if token.kind == "OP" and token.text in (">", ">=", "<", "<="):
                self._take()
                left = _ordering(left, self._unary(), token.text)
            elif self._is("BETWEEN"):
                self._take()
                left = self._between_rest(left)
            elif self._is("NOT") and self._is("BETWEEN", 1):
                self._skip(2)
                low = self._unary()
                self._expect("AND")
                high = self._unary()
                left = _or(_ordering(left, low, "<"), _ordering(left, high, ">"))
            elif self._is("IN"):
                self._take()
                left = _in(left, self._string_list(), negated=False)
            elif self._is("NOT") and self._is("IN", 1):
                self._skip(2)
                left = _in(left, self._string_list(), negated=True)
            else:
                return left

    def _between_rest(self, value: _Node) -> _Node:
        low = self._unary()
        self._expect("AND")
        return _between(value, low, self._unary())

    def _string_list(self) -> list[str]:
        self._expect("(")
        values = [self._string()]
        while self._is(","):
            self._take()
            values.append(self._string())
        self._expect(")")
        return values

    def _string(self) -> str:
        token = self._take()
        if token.kind != "STRING":
            raise SelectorSyntaxError(f"expected a string literal at column {token.pos + 1}")
        return string_value(token)

    def _unary(self) -> _Node:
        if self._is("+"):
            self._take()
            return self._unary()
        if self._is("-"):
            self._take()
            return _negate(self._unary())
        if self._is("NOT"):
            self._take()
            return _not(_as_boolean(self._unary()))
        return self._primary()

    def _primary(self) -> _Node:
        token = self._take()
        if token.kind == "STRING":
            return _constant(string_value(token), token.text)
        if token.kind == "DECIMAL":
            return _constant(_decimal(token.text), token.text)
        if token.kind == "FLOAT":
            return _constant(_float(token.text), token.text)
        if token.kind == "KEYWORD" and token.text in ("TRUE", "FALSE", "NULL"):
            literal = {"TRUE": True, "FALSE": False, "NULL": None}[token.text]
            return _constant(literal, token.text, boolean=True)
        if token.kind == "ID":
            return _Node(("prop", token.text), token.text, prop=token.text)
        if token.kind == "OP" and token.text == "(":
            inner = self._or_expression()
            self._expect(")")
            return inner
        found = token.text or "end of expression"
        raise SelectorSyntaxError(f"unexpected {found!r} at column {token.pos + 1}")


def _decimal(text: str) -> int:
    digits = text.rstrip("lL")
    value = int(digits)
    if value > jv.LONG_MAX:
        raise SelectorSyntaxError(f'For input string: "{digits}"')
    return value if value <= jv.INT_MAX else jv.JavaLong(value)


def _float(text: str) -> float:
    value = float(text)
    if value > _DOUBLE_MAX:
        raise SelectorSyntaxError(f"{text} is greater than {_DOUBLE_MAX}")
    if value < _DOUBLE_MIN:
        # Java compares with Double.MIN_VALUE, the smallest positive double, so 0.0 fails.
        raise SelectorSyntaxError(f"{text} is less than {_DOUBLE_MIN}")
    return value


@dataclass(frozen=True, slots=True)
class Selector:
    """A compiled expression; the store evaluates :attr:`native` on each scanned message."""

    expression: str
    native: SqlFilter

    def matches(self, properties: Mapping[str, str]) -> bool:
        """TRUE only: unknown (a missing property) and evaluation errors are no match."""
        return self.native.matches(encode_properties(dict(properties)).encode())


@lru_cache(maxsize=PARSE_CACHE_SIZE)
def compile_selector(expression: str) -> Selector:
    """Raises :class:`SelectorSyntaxError` with Java's reason for an expression it rejects."""
    try:
        node = _Parser(expression).selector()
    except jv.EvaluationError as exc:
        raise SelectorSyntaxError(str(exc)) from None
    return Selector(expression, SqlFilter(node.tree))


__all__ = ["Selector", "SelectorSyntaxError", "compile_selector"]
