"""How RocketMQ's SQL92 filter compares values (Java: ``ComparisonExpression.__compare`` with
string conversion on, as ``SelectorParser`` always sets it).

Values carry their Java type so that comparisons give Java's answers: ``int`` stands for
Integer, :class:`JavaLong` for Long, ``float`` for Double, ``bool`` for Boolean, ``str`` for
String. Message properties always arrive as strings; a string meets a number by being
parsed as that number's type, and a parse failure is an evaluation error (the message does
not match), as in Java."""

import math
import re
from typing import Final

INT_MIN: Final = -(2**31)
INT_MAX: Final = 2**31 - 1
LONG_MIN: Final = -(2**63)
LONG_MAX: Final = 2**63 - 1

_JAVA_INT: Final = re.compile(r"[+-]?[0-9]+")
_JAVA_DOUBLE: Final = re.compile(
    r"[+-]?(?:NaN|Infinity|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?[fFdD]?)"
)


class JavaLong(int):
    """A Java Long: a decimal literal beyond Integer's range."""

    __slots__ = ()


class EvaluationError(Exception):
    """What Java throws while evaluating (NumberFormatException, illegal string order)."""


Value = None | bool | int | float | str


def parse_int(text: str, low: int = INT_MIN, high: int = INT_MAX) -> int:
    """``Integer.valueOf`` (or ``Long.valueOf`` with Long's bounds)."""
    if not _JAVA_INT.fullmatch(text):
        raise EvaluationError(f'For input string: "{text}"')
    value = int(text)
    if not low <= value <= high:
        raise EvaluationError(f'For input string: "{text}"')
    return value


def parse_long(text: str) -> JavaLong:
    return JavaLong(parse_int(text, LONG_MIN, LONG_MAX))


def parse_double(text: str) -> float:
    """``Double.valueOf``: trims control characters and spaces, allows a d/f suffix."""
    trimmed = text.strip("".join(chr(c) for c in range(33)))
    if not _JAVA_DOUBLE.fullmatch(trimmed):
        raise EvaluationError(f'For input string: "{text}"')
    if trimmed[-1] in "fFdD" and not trimmed.endswith("Infinity"):
        trimmed = trimmed[:-1]
    return float(trimmed.replace("Infinity", "inf"))


def _order(lv: object, rv: object) -> int:
    # Double.compareTo: NaN above everything and equal to itself.
    if isinstance(lv, float) and isinstance(rv, float) and (math.isnan(lv) or math.isnan(rv)):
        return int(math.isnan(lv)) - int(math.isnan(rv))
    return int(lv > rv) - int(lv < rv)  # type: ignore[operator]


def compare(lv: Value, rv: Value) -> int:
    """Java's three-way comparison after converting the operands to one type; operands of
    types that do not meet compare as "less" (-1), as Java returns."""
    lc, rc = type(lv), type(rv)
    if lc is not rc:
        if lc is bool:
            if rc is str:
                # Java casts the Boolean to String here and throws ClassCastException.
                raise EvaluationError("Boolean cannot be cast to String")
            return -1
        if lc is int:
            if rc is JavaLong:
                pass
            elif rc is float:
                lv = float(lv)  # type: ignore[arg-type]
            elif rc is str:
                rv = parse_int(rv)  # type: ignore[arg-type]
            else:
                return -1
        elif lc is JavaLong:
            if rc is int:
                pass
            elif rc is float:
                lv = float(lv)  # type: ignore[arg-type]
            elif rc is str:
                rv = parse_long(rv)  # type: ignore[arg-type]
            else:
                return -1
        elif lc is float:
            if rc is int or rc is JavaLong:
                rv = float(rv)  # type: ignore[arg-type]
            elif rc is str:
                rv = parse_double(rv)  # type: ignore[arg-type]
            else:
                return -1
        elif lc is str:
            if rc is bool:
                lv = lv.lower() == "true"  # type: ignore[union-attr]
            elif rc is int:
                lv = parse_int(lv)  # type: ignore[arg-type]
            elif rc is JavaLong:
                lv = parse_long(lv)  # type: ignore[arg-type]
            elif rc is float:
                lv = parse_double(lv)  # type: ignore[arg-type]
            else:
                return -1
        else:
            return -1
    return _order(lv, rv)


def equal(lv: Value, rv: Value) -> bool | None:
    """``=``: unknown (None) when only the left side is missing, as Java answers."""
    if (lv is None) != (rv is None):
        return None if lv is None else False
    if lv is None or (type(lv) is type(rv) and lv == rv):
        return True
    return compare(lv, rv) == 0


def order(lv: Value, rv: Value) -> int | None:
    """``< <= > >=``: two strings must both read as numbers; None when either is missing."""
    if lv is None or rv is None:
        return None
    if type(lv) is str and type(rv) is str:
        return _order(parse_double(lv), parse_double(rv))
    return compare(lv, rv)
