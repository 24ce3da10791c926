"""rmq-console in a real browser: Playwright drives Debian's Chromium (installed by
``make browser-deps``) against real rmq processes. Every page is screenshotted into
``.artifacts/console/`` (not in git) for a person to look at."""

import asyncio
import re
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from rmq.client import CONSUME_FROM_FIRST_OFFSET, Message, Producer, PushConsumer
from tests.harness.console import running_console
from tests.harness.processes import ServerProcess, running_broker, running_namesrv
from tests.harness.py_client import Inbox, fast_config

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = Path(__file__).resolve().parents[2] / ".artifacts" / "console"
# Without these, Chromium reaches for Google's hosts, which this loopback-only machine refuses.
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="make browser-deps installs chromium"),
]


class Env(NamedTuple):
    namesrv: str
    console: ServerProcess
    browser: Browser


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    home = tmp_path_factory.mktemp("browser")
    SHOTS.mkdir(parents=True, exist_ok=True)
    with (
        running_namesrv(home / "ns") as ns,
        running_broker(home / "b", ns.addr, {"brokerName": "broker-w"}),
        running_console(home / "web", ns.addr, "--collect-interval", "0.5") as console,
        sync_playwright() as pw,
    ):
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield Env(ns.addr, console, browser)
        finally:
            browser.close()


@pytest.fixture
def page(env: Env) -> Iterator[Page]:
    context = env.browser.new_context(base_url=f"http://{env.console.addr}")
    tab = context.new_page()
    tab.on("dialog", lambda dialog: dialog.accept())  # the "are you sure?" confirmations
    try:
        yield tab
    finally:
        context.close()


def shot(page: Page, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_every_page_loads_and_is_screenshotted(page: Page) -> None:
    for name in ("ops", "dashboard", "cluster", "topic", "consumer", "producer", "message",
                 "dlq", "trace"):  # fmt: skip
        page.goto(f"/{name}")
        expect(page.locator(f"#nav-{name}")).to_have_class("active")
        expect(page.locator("#error-banner")).to_have_count(0)
        shot(page, name)
    page.goto("/dashboard")  # sampled every 0.5 s: broker TPS and topic TPS charts drawn
    page.wait_for_function("() => window.Chart && Object.keys(Chart.instances).length >= 2")
    shot(page, "dashboard-charts")
    page.goto("/cluster")
    expect(page.locator("#brokers tbody tr")).to_have_count(1)
    expect(page.locator("#brokers")).to_contain_text("broker-w")
    page.get_by_role("link", name=re.compile("Status")).click()
    expect(page.locator("#runtime")).to_contain_text("brokerVersionDesc")
    shot(page, "broker")


def test_language_switch_persists(page: Page) -> None:
    page.goto("/cluster")
    expect(page.locator("#nav-topic")).to_have_text("Topic")
    page.locator("#lang-switch").click()
    expect(page.locator("#nav-topic")).to_have_text("主题")
    page.goto("/consumer")
    expect(page.locator("#nav-consumer")).to_have_text("消费者")
    shot(page, "consumer-zh")
    page.locator("#lang-switch").click()
    expect(page.locator("#nav-consumer")).to_have_text("Consumer")


def test_create_topic_send_and_find_the_message(page: Page, env: Env) -> None:
    page.goto("/topic")
    page.locator("#topic-create summary").click()
    form = page.locator("#topic-create form")
    form.locator("input[name=topic]").fill("BrowserTopic")
    form.locator("input[name=writeQueueNums]").fill("2")
    form.locator("input[name=readQueueNums]").fill("2")
    with page.expect_navigation():  # the form reloads the list once the topic exists
        form.get_by_role("button").click()
    page.goto("/topic?q=Browser")
    expect(page.locator("#topics")).to_contain_text("BrowserTopic")
    page.get_by_role("link", name="BrowserTopic").click()
    expect(page.locator("#topic-status tbody tr")).to_have_count(2)
    send = page.locator("#send-form")
    send.locator("input[name=keys]").fill("browser-key")
    send.locator("input[name=tags]").fill("TagB")
    send.locator("textarea[name=body]").fill("sent from a browser")
    send.get_by_role("button").click()
    expect(page.locator("#send-result")).to_contain_text("SEND_OK")
    shot(page, "topic-detail")
    msg_id = re.search(r'"msgId": "(\w+)"', page.locator("#send-result").inner_text())
    assert msg_id is not None
    page.goto("/message?mode=key&topic=BrowserTopic")
    page.locator("#message-query input[name=key]").fill("browser-key")
    page.locator("#message-query").get_by_role("button").click()
    expect(page.locator("#messages tbody tr")).to_have_count(1)
    expect(page.locator("#messages")).to_contain_text("sent from a browser")
    page.goto("/message?mode=id&topic=BrowserTopic")
    page.locator("#message-query input[name=id]").fill(msg_id.group(1))
    page.locator("#message-query").get_by_role("button").click()
    expect(page.locator("#message-body")).to_have_text("sent from a browser")
    expect(page.locator("#message-properties")).to_contain_text("browser-key")
    shot(page, "message-detail")


def test_reset_offset_changes_the_lag_shown(page: Page, env: Env) -> None:
    topic, group = "BrowserLag", "browser-lag"

    async def produce_and_consume() -> None:
        async with Producer("browser-p", config=fast_config(env.namesrv)) as producer:
            for i in range(8):
                await producer.send(Message(topic, f"x{i}".encode()))
        consumer = PushConsumer(group, config=fast_config(env.namesrv),
                                consume_from_where=CONSUME_FROM_FIRST_OFFSET)  # fmt: skip
        consumer.subscribe(topic, "*")
        inbox = Inbox()
        consumer.register_message_listener(inbox)
        async with consumer:
            assert await inbox.wait_count(8)
            await asyncio.sleep(1.5)

    # Playwright's sync API owns this thread's event loop: the client runs on another.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, produce_and_consume()).result(timeout=60)
    page.goto(f"/consumer/{group}")
    expect(page.locator("#group-lag")).to_have_text("0")
    page.goto(f"/topic/{topic}")
    reset = page.locator("#reset-form")
    reset.locator("select[name=group]").select_option(group)
    reset.locator("input[name=timestamp]").fill("2020-01-01T00:00")
    reset.get_by_role("button").click()
    expect(page.locator("#reset-result")).to_contain_text("offsets")
    page.goto(f"/consumer/{group}")
    expect(page.locator("#group-lag")).to_have_text("8")
    shot(page, "consumer-detail")


def test_login_required_blocks_anonymous_access(env: Env, tmp_path: Path) -> None:
    from rmq.console.auth import hash_password

    users = tmp_path / "users.properties"
    users.write_text(f"ops={hash_password('pw-123')},admin\n")
    with running_console(tmp_path, env.namesrv, "--login-required", "--users-file",
                         str(users)) as console:  # fmt: skip
        context = env.browser.new_context(base_url=f"http://{console.addr}")
        tab = context.new_page()
        try:
            tab.goto("/cluster")
            expect(tab).to_have_url(re.compile(r"/login\?next=/cluster$"))
            shot(tab, "login")
            tab.locator("input[name=username]").fill("ops")
            tab.locator("input[name=password]").fill("wrong")
            tab.locator("#login-button").click()
            expect(tab.get_by_role("alert")).to_contain_text("Wrong user name or password")
            tab.locator("input[name=username]").fill("ops")
            tab.locator("input[name=password]").fill("pw-123")
            tab.locator("#login-button").click()
            expect(tab).to_have_url(re.compile(r"/cluster$"))
            expect(tab.locator("#brokers")).to_contain_text("broker-w")
        finally:
            context.close()
