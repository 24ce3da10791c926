"""java.util.Properties semantics of the .properties reader."""

from pathlib import Path

import pytest

from rmq.config.properties import (
    PropertiesError,
    format_properties,
    parse_properties,
    read_properties,
)


def values(text: str) -> dict[str, str]:
    return {k: e.value for k, e in parse_properties(text).items()}


def test_separators_comments_and_blank_lines() -> None:
    text = "# comment\n! bang comment\n\na=1\nb : 2\nc 3\nd\t=\t4\n  e=5\nf\n"
    assert values(text) == {"a": "1", "b": "2", "c": "3", "d": "4", "e": "5", "f": ""}


def test_trailing_whitespace_of_a_value_is_kept_as_java_does() -> None:
    assert values("a=1  \n")["a"] == "1  "


def test_line_continuation_drops_leading_whitespace_of_the_next_line() -> None:
    assert values("list=a,\\\n     b,\\\n  c\n") == {"list": "a,b,c"}


def test_even_backslashes_do_not_continue() -> None:
    assert values("a=x\\\\\nb=y\n") == {"a": "x\\", "b": "y"}


def test_a_comment_is_never_continued() -> None:
    assert values("# comment \\\nkey=value\n") == {"key": "value"}


def test_escapes_in_keys_and_values() -> None:
    text = "key\\ with\\:colon=v\\tal\\u4e2d\\=\nx=\\q\n"
    assert values(text) == {"key with:colon": "v\tal中=", "x": "q"}


def test_malformed_unicode_escape_names_the_line() -> None:
    with pytest.raises(PropertiesError, match="<string>:2: malformed"):
        parse_properties("a=1\nb=\\u12G4\n")


def test_crlf_and_cr_line_endings() -> None:
    assert values("a=1\r\nb=2\rc=3") == {"a": "1", "b": "2", "c": "3"}


def test_last_occurrence_wins_and_line_numbers_are_kept() -> None:
    entries = parse_properties("a=1\n\n# x\na=2\n")
    assert (entries["a"].value, entries["a"].line) == ("2", 4)


def test_continuation_at_end_of_file_keeps_the_line() -> None:
    assert values("a=1\\") == {"a": "1"}


def test_latin1_file_falls_back_and_bom_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "x.properties"
    path.write_bytes("\ufeffa=1\n".encode() + b"b=caf\xe9\n")
    assert {k: e.value for k, e in read_properties(path).items()} == {"a": "1", "b": "café"}


def test_missing_file_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(PropertiesError, match=r"nope\.properties: cannot read"):
        read_properties(tmp_path / "nope.properties")


def test_format_round_trips_awkward_values() -> None:
    original = {"k y": "  lead", "c:=#!": "a\\b\nc", "plain": "v"}
    assert values(format_properties(original)) == original
