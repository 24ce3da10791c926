"""Tokens of RocketMQ's SQL92 message selector (Java: ``SelectorParser.jj``).

Tokens are produced on demand, as JavaCC's token manager does: the parser reads at most two
tokens past the expression it accepts, so what follows further is never examined."""

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

KEYWORDS: Final = frozenset({"NOT", "AND", "OR", "BETWEEN", "IN", "TRUE", "FALSE", "NULL", "IS"})
OPERATORS: Final = (">=", "<=", "<>", "=", ">", "<", "(", ")", ",", "+", "-")


class SelectorSyntaxError(ValueError):
    """An expression that is not a selector (Java: ``MQFilterException``)."""


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # KEYWORD, ID, DECIMAL, FLOAT, STRING, OP or EOF
    text: str
    pos: int


_SPACE: Final = re.compile(r"(?:[ \t\n\r\f]+|--[^\n\r]*(?:\r\n|\n|\r|$)|/\*[\s\S]*?\*/)+")
_ID: Final = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")
_DECIMAL: Final = re.compile(r"0|[1-9][0-9]*[lL]?")
_FLOAT: Final = re.compile(
    r"(?:[0-9]+\.[0-9]*(?:[eE][+-]?[0-9]+)?|\.[0-9]+(?:[eE][+-]?[0-9]+)?|[0-9]+[eE][+-]?[0-9]+)"
)
_STRING: Final = re.compile(r"'(?:''|[^'])*'")


def tokens(text: str) -> Iterator[Token]:
    pos = 0
    end = len(text)
    while True:
        space = _SPACE.match(text, pos)
        if space:
            pos = space.end()
        if pos >= end:
            yield Token("EOF", "", pos)
            return
        char = text[pos]
        if char == "'":
            found = _STRING.match(text, pos)
            if not found:
                raise SelectorSyntaxError(f"unterminated string literal at column {pos + 1}")
            yield Token("STRING", found.group(), pos)
            pos = found.end()
            continue
        decimal = _DECIMAL.match(text, pos)
        floating = _FLOAT.match(text, pos)
        if decimal or floating:
            # Longest match wins; on a tie the decimal form (declared first in Java) does.
            if floating and (not decimal or floating.end() > decimal.end()):
                yield Token("FLOAT", floating.group(), pos)
                pos = floating.end()
            else:
                assert decimal is not None
                yield Token("DECIMAL", decimal.group(), pos)
                pos = decimal.end()
            continue
        ident = _ID.match(text, pos)
        if ident:
            word = ident.group()
            kind = "KEYWORD" if word.upper() in KEYWORDS else "ID"
            yield Token(kind, word.upper() if kind == "KEYWORD" else word, pos)
            pos = ident.end()
            continue
        for op in OPERATORS:
            if text.startswith(op, pos):
                yield Token("OP", op, pos)
                pos += len(op)
                break
        else:
            raise SelectorSyntaxError(f"unexpected character {char!r} at column {pos + 1}")


def string_value(token: Token) -> str:
    return token.text[1:-1].replace("''", "'")
