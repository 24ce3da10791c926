"""A reader for ``.properties`` files with ``java.util.Properties.load`` semantics.

What Java does, and so what this does:
- Natural lines end at ``\\n``, ``\\r`` or ``\\r\\n``; leading spaces, tabs and form feeds are
  skipped; blank lines are skipped; a line whose first other character is ``#`` or ``!`` is a
  comment (and a comment is never continued).
- A line ending in an odd number of backslashes continues on the next natural line, whose
  leading white space is dropped.
- The key ends at the first unescaped ``=``, ``:`` or white space; then white space, at most
  one ``=`` or ``:``, and more white space are skipped; the rest is the value, trailing
  white space included.
- Escapes: ``\\t \\n \\r \\f``, ``\\uXXXX``, and a backslash before any other character
  stands for that character. A malformed ``\\uXXXX`` is an error (Java throws too).
- The last occurrence of a key wins.

Java reads the bytes as ISO-8859-1; rmq reads UTF-8 (what editors write today) and falls
back to ISO-8859-1 for files that are not valid UTF-8.
"""

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final

_NATURAL_LINE: Final = re.compile(r"\r\n|\r|\n")
_WHITESPACE: Final = " \t\f"
_SIMPLE_ESCAPES: Final = {"t": "\t", "n": "\n", "r": "\r", "f": "\f"}


class PropertiesError(ValueError):
    """A properties file that cannot be read; the message names the file and line."""


@dataclass(frozen=True, slots=True)
class Entry:
    value: str
    line: int


def _logical_lines(text: str) -> list[tuple[int, str]]:
    lines: list[tuple[int, str]] = []
    parts: list[str] = []
    start = 0
    for number, natural in enumerate(_NATURAL_LINE.split(text), start=1):
        stripped = natural.lstrip(_WHITESPACE)
        if not parts:
            if not stripped or stripped[0] in "#!":
                continue
            start = number
        trailing = len(stripped) - len(stripped.rstrip("\\"))
        if trailing % 2 == 1:
            parts.append(stripped[:-1])
            continue
        parts.append(stripped)
        lines.append((start, "".join(parts)))
        parts = []
    if parts:
        # A continuation at end of file: Java drops the backslash and keeps the line.
        lines.append((start, "".join(parts)))
    return lines


def _split_key_value(line: str) -> tuple[str, str]:
    escaped = False
    key_end = len(line)
    value_start = len(line)
    has_separator = False
    for i, ch in enumerate(line):
        if escaped:
            escaped = False
            continue
        if ch == "\\":
            escaped = True
        elif ch in "=:":
            key_end, value_start, has_separator = i, i + 1, True
            break
        elif ch in _WHITESPACE:
            key_end, value_start = i, i + 1
            break
    pos = value_start
    while pos < len(line) and line[pos] in _WHITESPACE:
        pos += 1
    if not has_separator and pos < len(line) and line[pos] in "=:":
        pos += 1
        while pos < len(line) and line[pos] in _WHITESPACE:
            pos += 1
    return line[:key_end], line[pos:]


def _unescape(text: str, where: str) -> str:
    if "\\" not in text:
        return text
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        if i + 1 >= len(text):
            # A lone trailing backslash (only possible at end of file) stands for nothing.
            break
        nxt = text[i + 1]
        if nxt == "u":
            digits = text[i + 2 : i + 6]
            if len(digits) != 4 or any(c not in "0123456789abcdefABCDEF" for c in digits):
                raise PropertiesError(f"{where}: malformed \\uxxxx encoding")
            out.append(chr(int(digits, 16)))
            i += 6
        else:
            out.append(_SIMPLE_ESCAPES.get(nxt, nxt))
            i += 2
    return "".join(out)


def parse_properties(text: str, source: str = "<string>") -> dict[str, Entry]:
    """Parse properties text into key -> (value, first line of its logical line)."""
    result: dict[str, Entry] = {}
    for number, line in _logical_lines(text):
        raw_key, raw_value = _split_key_value(line)
        where = f"{source}:{number}"
        result[_unescape(raw_key, where)] = Entry(_unescape(raw_value, where), number)
    return result


def read_properties(path: str | Path) -> dict[str, Entry]:
    """Read a properties file; :class:`PropertiesError` names the file if it can't be read."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise PropertiesError(f"{path}: cannot read config file: {exc.strerror}") from None
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("iso-8859-1")
    return parse_properties(text, str(path))


def format_properties(values: dict[str, str]) -> str:
    """``key=value`` lines, escaped so that :func:`parse_properties` reads them back."""

    def escape(text: str, is_key: bool) -> str:
        out: list[str] = []
        for i, ch in enumerate(text):
            if ch == "\\":
                out.append("\\\\")
            elif ch in "\t\n\r\f":
                out.append("\\" + {"\t": "t", "\n": "n", "\r": "r", "\f": "f"}[ch])
            elif ch in "=:#!" or (ch == " " and (is_key or i == 0)):
                out.append("\\" + ch)
            else:
                out.append(ch)
        return "".join(out)

    return "".join(f"{escape(k, True)}={escape(v, False)}\n" for k, v in values.items())
