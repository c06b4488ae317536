"""axe-core (web_client/node_modules, a devDependency) run in a real Chromium
page: the accessibility audit of issue 19.

The pages run under a strict CSP (no inline scripts), so axe is not added as a
``<script>`` tag: its source is evaluated through the DevTools protocol
(``page.evaluate``), which a page's CSP does not govern. No context needs
``bypass_csp``; the pages are audited exactly as they are served.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from playwright.async_api import Page

WEB_CLIENT = Path(__file__).resolve().parents[2] / "web_client"
AXE = WEB_CLIENT / "node_modules" / "axe-core" / "axe.min.js"
#: WCAG 2.0 and 2.1, levels A and AA.
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
#: What fails the audit.
BLOCKING = {"serious", "critical"}


@cache
def _axe_source() -> str:
    if not AXE.exists():
        raise AssertionError(f"{AXE} is missing: run `cd web_client && npm ci` (a devDependency)")
    return AXE.read_text()


async def audit(page: Page) -> list[dict[str, Any]]:
    """axe's serious and critical violations of ``page`` as it is now:
    id, impact, help, and the CSS selectors of the offending nodes."""
    if not await page.evaluate("() => typeof window.axe === 'object'"):
        await page.evaluate(_axe_source() + "\n;undefined")
    violations: list[dict[str, Any]] = await page.evaluate(
        """async (tags) => {
          const result = await axe.run(document, {runOnly: {type: 'tag', values: tags}});
          return result.violations.map(v => ({
            id: v.id, impact: v.impact, help: v.help,
            targets: v.nodes.map(n => n.target.join(' ') + ' — ' +
              ([...n.any, ...n.all, ...n.none].map(c => c.message)[0] || '')),
          }));
        }""",
        TAGS,
    )
    return [v for v in violations if v["impact"] in BLOCKING]


def describe(state: str, violations: list[dict[str, Any]]) -> str:
    """One readable block per violation of a page state."""
    return "\n".join(
        f"[{state}] {v['id']} ({v['impact']}): {v['help']}\n    " + "\n    ".join(v["targets"][:8])
        for v in violations
    )


class Audit:
    """Collects the blocking violations of every state, to fail once with all of them."""

    def __init__(self) -> None:
        self.found: dict[str, list[dict[str, Any]]] = {}

    async def check(self, page: Page, state: str) -> None:
        violations = await audit(page)
        if violations:
            self.found[state] = violations

    def report(self) -> str:
        return "\n".join(describe(state, found) for state, found in self.found.items())
