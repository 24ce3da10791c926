"""SQL92 selectors give Apache RocketMQ's answers (its filter ExpressionTest and ParserTest
cases, plus the type rules of ComparisonExpression) and reject what its parser rejects."""

import re

import pytest

from rmq.common.message import encode_properties
from rmq.filter.sql92 import SelectorSyntaxError, compile_selector

MATCHES = [
    ("TAGS is not null and TAGS='''''tag'''''", {"TAGS": "''tag''"}, True),
    ("a > 3.1E10", {"a": "3.1415E10"}, True),
    ("a > 3.14", {"a": "3.1415"}, True),
    ("a > b", {"a": "10", "b": "20"}, False),
    ("a > b", {"a": "20", "b": "10"}, True),
    ("a is null OR a='hello'", {}, True),
    ("a is null OR a='hello'", {"a": "hello"}, True),
    ("a is null OR a='hello'", {"a": "abc"}, False),
    ("a=TRUE OR b=FALSE", {"a": "true", "b": "false"}, True),
    ("a=TRUE OR b=FALSE", {"a": "false", "b": "true"}, False),
    ("a=3 and b<>4 And c>5 AND d<=4", {"a": "3", "b": "3", "c": "6", "d": "4"}, True),
    ("a=3 and b<>4 And c>5 AND d<=4", {"a": "3", "b": "4", "c": "6", "d": "4"}, False),
    ("a=3 or b<>4 Or c>5 OR d<=4", {"a": "1", "b": "4", "c": "5", "d": "5"}, False),
    ("a=3 or b<>4 Or c>5 OR d<=4", {"a": "1", "b": "4", "c": "6", "d": "5"}, True),
    ("a in ('3', '4', '5')", {"a": "4"}, True),
    ("a in ('3', '4', '5')", {"a": "6"}, False),
    ("a in ('3', '4', '5')", {}, False),
    ("a not in ('3', '4', '5')", {"a": "6"}, True),
    ("a not in ('3', '4', '5')", {"a": "4"}, False),
    ("a not in ('3', '4', '5')", {}, False),  # unknown is not a match
    ("a between 2 and 10", {"a": "2"}, True),
    ("a between 2 and 10", {"a": "10"}, True),
    ("a between 2 and 10", {"a": "11"}, False),
    ("a not between 2 and 10", {"a": "11"}, True),
    ("a not between 2 and 10", {"a": "5"}, False),
    ("a between 0 and 100", {"a": "abc"}, False),  # not a number: evaluation error, no match
    ("a is null", {}, True),
    ("a is not null", {"a": "x"}, True),
    ("a=b", {"a": "3.14", "b": "3.14"}, True),
    ("a<>b", {"a": "3.14", "b": "3.141"}, True),
    ("a > -1", {"a": "0"}, True),
    ("a > 3", {"a": "3.5"}, False),  # Integer.valueOf("3.5") fails in Java too
    ("a > 3.0", {"a": "3.5"}, True),
    ("a = 3000000000", {"a": "3000000000"}, True),  # a Long literal
    ("a = 3", {"a": "3000000000"}, False),  # out of Integer range
    ("NOT (a = '1')", {"a": "2"}, True),
    ("NOT (a = '1')", {}, False),
    ("a = '1' OR b = '2'", {"b": "2"}, True),
    ("a = '1' AND b = '2'", {"b": "2"}, False),
    ("TRUE", {}, True),
    ("FALSE OR a IS NULL", {}, True),
    ("a", {"a": "true"}, False),  # a bare property is a Boolean cast: strings are not
    ("-- comment\na = 1 /* and b = 2 */", {"a": "1"}, True),
    ("a = 1 b = 2", {"a": "1"}, True),  # Java stops reading after a whole expression
    ("a > 1L", {"a": "2"}, True),
    ("a >= .5", {"a": "0.5"}, True),
    ("a <= 5E1", {"a": "50"}, True),
    ("+a = 1", {"a": "1"}, True),
]


@pytest.mark.parametrize(("expression", "properties", "expected"), MATCHES)
def test_selector_matches_like_apache(
    expression: str, properties: dict[str, str], expected: bool
) -> None:
    assert compile_selector(expression).matches(properties) is expected


REJECTED = [
    ("", "end of expression"),
    ("a >", "end of expression"),
    ("a = NULL", "cannot be compared"),
    ("TRUE > 1", "cannot be compared"),
    ("a > 'x'", "cannot be compared"),  # strings are never ordered by constant
    ("a > TRUE", "cannot be compared"),
    ("(a = 1) > 2", "cannot be compared"),
    ("TRUE = 1", "cannot be compared with"),
    ("a between 10 and 2", "must less than or equal"),
    ("a between NULL and 2", "can not be null"),
    ("'x' in ('a')", "Expected a property"),
    ("a in (1, 2)", "string literal"),
    ("a in ()", "string literal"),
    ("a > 0.0", "less than"),
    ("a = 99999999999999999999", "For input string"),
    ("a ! b", "unexpected character"),
    ("a == 1", "unexpected"),
    ("3", "will not result in a boolean"),
    ("a = 'x", "unterminated"),
    ("a IS 1", "expected 'NOT'"),
    ("(a = 1", "expected ')'"),
    ("a.b = 1", "unexpected character"),
]


@pytest.mark.parametrize(("expression", "reason"), REJECTED)
def test_selector_rejects_like_apache(expression: str, reason: str) -> None:
    with pytest.raises(SelectorSyntaxError, match=re.escape(reason)):
        compile_selector(expression)


def test_keywords_ignore_case_and_identifiers_do_not() -> None:
    selector = compile_selector("Price between 1 AnD 5 oR price iS nUlL")
    assert selector.matches({"Price": "3"})
    assert not selector.matches({"Price": "9", "price": "1"})
    assert selector.matches({"Price": "9"})


def test_the_store_reads_both_property_encodings_and_skips_empty_values() -> None:
    selector = compile_selector("a = 7 AND ab = 1 AND b IS NULL")
    newer = encode_properties({"TAGS": "A", "a": "7", "ab": "1", "UNIQ_KEY": "X"})
    assert selector.native.matches(newer.encode())
    assert selector.native.matches(b"a\x017\x02ab\x011\x02")  # 4.9.0 keeps the last 0x02
    assert selector.native.matches(b"b\x01\x02a\x017\x02ab\x011")  # empty means absent
    assert not selector.native.matches(b"a\x017\x02ab\x011\x02b\x01x")
