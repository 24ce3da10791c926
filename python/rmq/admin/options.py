"""Command-line options as mqadmin takes them (Apache commons-cli): ``-t X``, ``-tX``,
``--topic X``, ``--topic=X``, flags without values, a few required options or option
groups, and ``-h`` printing commons-cli's help layout, so scripts and habits carry over."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final


class UsageError(Exception):
    """Bad command-line input: printed as one line, exit status 1."""


@dataclass(frozen=True, slots=True)
class Opt:
    short: str
    long: str
    has_arg: bool
    desc: str
    required: bool = False


#: Every command has these (Java ``ServerUtil.buildCommandlineOptions``).
HELP: Final = Opt("h", "help", False, "Print help")
NAMESRV: Final = Opt(
    "n", "namesrvAddr", True, "Name server address list, eg: '192.168.0.1:9876;192.168.0.2:9876'"
)
HELP_WIDTH: Final = 110


@dataclass
class Args:
    """Parsed options by short name; flags map to ``""``."""

    values: dict[str, str] = field(default_factory=dict)

    def has(self, short: str) -> bool:
        return short in self.values

    def get(self, short: str, default: str | None = None) -> str | None:
        value = self.values.get(short)
        return default if value is None else value.strip()

    def need(self, short: str) -> str:
        value = self.get(short)
        if value is None:
            raise UsageError(f"Missing required option: {short}")
        return value

    def int(self, short: str, default: int) -> int:
        value = self.get(short)
        if value is None:
            return default
        try:
            return int(value)
        except ValueError:
            raise UsageError(f"option -{short} wants a number, got {value!r}") from None


def parse(options: Sequence[Opt], argv: Sequence[str],
          required_groups: Sequence[tuple[str, ...]] = ()) -> Args:  # fmt: skip
    by_short = {o.short: o for o in options}
    by_long = {o.long: o for o in options}
    out = Args()
    i = 0
    while i < len(argv):
        token = argv[i]
        i += 1
        if token.startswith("--"):
            name, eq, inline = token[2:].partition("=")
            opt = by_long.get(name)
            if opt is None:
                raise UsageError(f"Unrecognized option: {token}")
        elif token.startswith("-") and len(token) > 1:
            opt = by_short.get(token[1:]) or by_short.get(token[1])
            if opt is None:
                raise UsageError(f"Unrecognized option: {token}")
            eq, inline = ("=", token[2:]) if token[1:] != opt.short and opt.has_arg else ("", "")
            if token[1:] != opt.short and not opt.has_arg:
                raise UsageError(f"Unrecognized option: {token}")
        else:
            raise UsageError(f"Unexpected argument: {token}")
        if not opt.has_arg:
            out.values[opt.short] = ""
            continue
        if eq:
            out.values[opt.short] = inline
        elif i < len(argv):
            out.values[opt.short] = argv[i]
            i += 1
        else:
            raise UsageError(f"Missing argument for option: {opt.short}")
    if "h" in out.values:
        return out
    missing = [o.short for o in options if o.required and o.short not in out.values]
    if missing:
        raise UsageError(f"Missing required option{'s' if len(missing) > 1 else ''}: "
                         + ", ".join(missing))  # fmt: skip
    for group in required_groups:
        if not any(g in out.values for g in group):
            raise UsageError("Missing required option: [" + ", ".join(f"-{g}" for g in group) + "]")
    return out


def help_text(command: str, options: Sequence[Opt],
              required_groups: Sequence[tuple[str, ...]] = ()) -> str:  # fmt: skip
    """commons-cli ``HelpFormatter.printHelp(app, options, true)`` at width 110."""
    ordered = sorted(options, key=lambda o: o.short.lower())
    grouped = {g for group in required_groups for g in group}
    parts: list[str] = []
    done: set[str] = set()
    for opt in ordered:
        if opt.short in done:
            # commons-cli still puts a separator for a group member already shown.
            parts.append("")
            continue
        group = next((g for g in required_groups if opt.short in g), None)
        if group is not None:
            members = [o for o in ordered if o.short in group]
            done.update(o.short for o in members)
            parts.append("-" + " | -".join(f"{o.short} <arg>" if o.has_arg else o.short
                                           for o in members))  # fmt: skip
            continue
        item = f"-{opt.short} <arg>" if opt.has_arg else f"-{opt.short}"
        parts.append(item if opt.required or opt.short in grouped else f"[{item}]")
    usage = _wrap(f"usage: mqadmin {command}", parts)
    lefts = [f" -{o.short},--{o.long}" + (" <arg>" if o.has_arg else "") for o in ordered]
    pad = max(len(x) for x in lefts) + 3
    lines = [left.ljust(pad) + o.desc for left, o in zip(lefts, ordered, strict=True)]
    return usage + "\n" + "\n".join(lines) + "\n"


def _wrap(head: str, parts: list[str]) -> str:
    """commons-cli ``renderWrappedText``: break at the last space within the width, carry on
    indented past "usage: "."""
    text = " ".join([head, *parts])
    tab = text.index(" ") + 1
    pos = _wrap_pos(text, HELP_WIDTH)
    if pos == -1:
        return text.rstrip()
    lines = [text[:pos].rstrip()]
    while True:
        text = " " * tab + text[pos:].strip()
        pos = _wrap_pos(text, HELP_WIDTH)
        if pos == -1:
            lines.append(text)
            return "\n".join(lines)
        if len(text) > HELP_WIDTH and pos == tab - 1:
            pos = HELP_WIDTH
        lines.append(text[:pos].rstrip())


def _wrap_pos(text: str, width: int) -> int:
    """commons-cli ``findWrapPos`` from the start of ``text``."""
    if width >= len(text):
        return -1
    pos = width
    while pos >= 0 and text[pos] not in " \n\r":
        pos -= 1
    if pos > 0:
        return pos
    pos = width
    while pos < len(text) and text[pos] not in " \n\r":
        pos += 1
    return -1 if pos == len(text) else pos
