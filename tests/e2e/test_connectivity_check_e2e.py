"""The pre-join page's "Check connection" in real Chromium, against a real coturn
on the private test address (TURN over UDP, TCP and TLS with a self-signed
certificate that only this browser trusts): every configured path shows
"works", a path the server does not offer shows "not offered", and with UDP to
the TURN server dropped the UDP paths show "blocked" while the TCP/TLS relay
still carries the verdict."""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from coturn_server import TEST_TURN_SECRET, CoturnServer, SelfSignedCertificate
from e2e_helpers import CHROMIUM_ARGS, TEST_ADDRESS, ServerProcess, tid
from playwright.async_api import Browser, Page, async_playwright

from conf_bench.chromium import CHROMIUM

CHECKS = ("udp", "turn-udp", "turn-tcp", "turn-tls")


@pytest.fixture
def certificate(tmp_path: Path) -> SelfSignedCertificate:
    return SelfSignedCertificate(tmp_path, [TEST_ADDRESS])


@pytest.fixture
def coturn(test_network: None, tmp_path: Path, certificate: SelfSignedCertificate) -> Iterator[Any]:
    server = CoturnServer(tmp_path, listen_ip=TEST_ADDRESS, certificate=certificate)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def trusting_browser(certificate: SelfSignedCertificate) -> AsyncIterator[Browser]:
    """Chromium that trusts the test TURN server's certificate, and no other."""
    spki = f"--ignore-certificate-errors-spki-list={certificate.spki_sha256}"
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, spki]
        )
        try:
            yield browser
        finally:
            await browser.close()


def start_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, urls: list[str], name: str
) -> ServerProcess:
    """A conf-server with these ICE server URLs; the TURN secret from the
    environment, as operators are told to pass it."""
    monkeypatch.setenv("CONF_TURN_SECRET", TEST_TURN_SECRET)
    directory = tmp_path / name
    directory.mkdir()
    flags = [flag for url in urls for flag in ("--ice-server", url)]
    return ServerProcess(directory, *flags)


async def check_connection(browser: Browser, url: str) -> tuple[dict[str, dict[str, str]], str]:
    """Open the pre-join page, click "Check connection", wait for every row;
    returns each check's status and text, and the summary."""
    context = await browser.new_context(permissions=["camera", "microphone"])
    try:
        page: Page = await context.new_page()
        page.on("console", lambda m: print(f"[check] {m.type}: {m.text}"))
        await page.goto(f"{url}/r/netcheck")
        await page.click(tid("connectivity-check-button"))
        # Each check is bounded at 8 s and they run at once; 30 s for a loaded machine.
        await page.wait_for_function(
            """() => {
              const rows = document.querySelectorAll('[data-testid="connectivity-result"]');
              return rows.length === 4 && [...rows].every(r => r.dataset.status !== 'checking')
                && !document.querySelector('[data-testid="connectivity-panel"]')
                      .hasAttribute('aria-busy');
            }""",
            timeout=30_000,
        )
        rows: dict[str, dict[str, str]] = await page.evaluate(
            """() => Object.fromEntries([...document.querySelectorAll(
                 '[data-testid="connectivity-result"]')].map(
                 r => [r.dataset.check, {status: r.dataset.status, text: r.textContent,
                                         detail: r.title}]))"""
        )
        summary: str = await page.text_content(tid("connectivity-summary")) or ""
        return rows, summary
    finally:
        await context.close()


async def test_every_turn_transport_works_through_coturn(
    coturn, trusting_browser, tmp_path, monkeypatch
):
    server = start_server(tmp_path, monkeypatch, coturn.urls(), "turn")
    try:
        rows, summary = await check_connection(trusting_browser, server.url)
    finally:
        server.stop()
    assert {check: rows[check]["status"] for check in CHECKS} == dict.fromkeys(CHECKS, "ok"), rows
    assert rows["turn-tls"]["text"] == f"Relay over TLS (port {coturn.tls_port}): works"
    assert rows["turn-tcp"]["text"] == f"Relay over TCP (port {coturn.port}): works"
    assert summary == "Your network can join meetings."


async def test_paths_the_server_does_not_offer_are_not_configured(
    coturn, trusting_browser, tmp_path, monkeypatch
):
    stun_only = start_server(tmp_path, monkeypatch, [f"stun:{TEST_ADDRESS}:{coturn.port}"], "stun")
    try:
        rows, summary = await check_connection(trusting_browser, stun_only.url)
    finally:
        stun_only.stop()
    assert rows["udp"]["status"] == "ok", rows
    for check in ("turn-udp", "turn-tcp", "turn-tls"):
        assert rows[check]["status"] == "not-configured"
        assert rows[check]["text"].endswith(": not offered by this server")
    assert summary == "Your network can join meetings."

    nothing = start_server(tmp_path, monkeypatch, [], "none")
    try:
        rows, summary = await check_connection(trusting_browser, nothing.url)
    finally:
        nothing.stop()
    assert {row["status"] for row in rows.values()} == {"not-configured"}
    assert "no STUN or TURN server to test against" in summary


class DroppedUdp:
    """An nftables rule in this (the test's private) namespace that drops UDP
    to one port of the test address; removed on exit."""

    TABLE = "conf_connectivity_check"

    def __init__(self, port: int) -> None:
        self.port = port

    def __enter__(self) -> DroppedUdp:
        rules = (
            f"table inet {self.TABLE} {{\n chain out {{\n"
            " type filter hook output priority 0;\n"
            f" ip daddr {TEST_ADDRESS} udp dport {self.port} drop\n }}\n}}\n"
        )
        subprocess.run(["nft", "-f", "-"], input=rules.encode(), check=True)
        return self

    def __exit__(self, *exc: object) -> None:
        subprocess.run(["nft", "delete", "table", "inet", self.TABLE], check=False)


async def test_with_udp_blocked_the_relay_over_tcp_and_tls_still_works(
    coturn, trusting_browser, tmp_path, monkeypatch
):
    stun = f"stun:{TEST_ADDRESS}:{coturn.port}"
    server = start_server(tmp_path, monkeypatch, [stun, *coturn.urls()], "blocked")
    try:
        with DroppedUdp(coturn.port):
            rows, summary = await check_connection(trusting_browser, server.url)
    finally:
        server.stop()
    statuses = {check: rows[check]["status"] for check in CHECKS}
    assert statuses == {"udp": "failed", "turn-udp": "failed", "turn-tcp": "ok", "turn-tls": "ok"}
    assert rows["udp"]["text"].endswith(
        ": blocked — ask your IT to allow it or use another network"
    )
    assert summary.startswith("Your network can join meetings through the relay")
