"""rmq-admin's command line without servers: the listing, every command's help, and bad
input answered with one line and a non-zero status."""

import pytest

from rmq.admin.main import run
from rmq.admin.table import COMMANDS


def test_listing_names_every_mqadmin_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert run([]) == 0
    listed = capsys.readouterr().out
    assert listed.startswith("The most commonly used mqadmin commands are:")
    for name, _, desc in COMMANDS:
        assert f"   {name:<20} {desc}" in listed


@pytest.mark.parametrize(("name", "module"), [(n, m) for n, m, _ in COMMANDS])
def test_every_command_help_runs(name: str, module: str | None,
                                 capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    status = run([name, "-h"])
    captured = capsys.readouterr()
    if module is None:
        assert status == 2
        assert captured.err.startswith(f"rmq-admin: command {name} is not available")
        assert len(captured.err.splitlines()) == 1
        return
    assert status == 0
    assert captured.out.startswith(f"usage: mqadmin {name}")
    assert " -n,--namesrvAddr <arg>" in captured.out
    assert run(["help", name]) == 0
    assert capsys.readouterr().out == captured.out


@pytest.mark.parametrize(
    ("argv", "text"),
    [
        (["nosuchCommand"], "The sub command nosuchCommand not exist."),
        (["topicStatus"], "Missing required option: t"),
        (["topicRoute", "-t", "X", "--bogus"], "Unrecognized option: --bogus"),
        (["topicRoute", "-t"], "Missing argument for option: t"),
        (["updateTopic", "-t", "X"], "Missing required option: [-b, -c]"),
        (["clusterList", "-i", "x", "-n", "127.0.0.1:1"], "wants a number"),
        (
            ["clusterList", "-n", "127.0.0.1:1"],
            "clusterList command failed: connect to 127.0.0.1:1",
        ),
        (["clusterList", "-n", ""], "no name server address"),
    ],
)
def test_bad_input_is_one_line(argv: list[str], text: str, capsys: pytest.CaptureFixture[str],
                               monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.delenv("NAMESRV_ADDR", raising=False)
    assert run(argv) != 0
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert text in err


def test_option_spellings_commons_cli_accepts() -> None:
    from rmq.admin.options import Opt, parse

    opts = (Opt("t", "topic", True, "topic"), Opt("l", "list", False, "list"))
    for argv in (["-t", "A"], ["-tA"], ["--topic", "A"], ["--topic=A"]):
        assert parse(opts, argv).get("t") == "A"
    assert parse(opts, ["-l"]).has("l")
