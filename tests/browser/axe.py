"""axe-core (npm, ``hardhat-local/node_modules/axe-core``) run in the page under test: no serious or critical
violation. Injected through the DevTools protocol (``page.evaluate``), which the pages' Content-Security-Policy
does not apply to, so the pages keep refusing inline scripts."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from playwright.sync_api import Page

AXE = Path(__file__).resolve().parents[2] / "hardhat-local" / "node_modules" / "axe-core" / "axe.min.js"
PHONE = 375  # px: the narrowest phone the pages are laid out for


@cache
def _source() -> str:
    assert AXE.is_file(), f"{AXE} is missing: run `npm install` in hardhat-local/ (axe-core is in its package.json)"
    return AXE.read_text(encoding="utf-8")


def assert_accessible(page: Page) -> None:
    """Run axe-core (WCAG 2 A/AA rules) on the page as it is now; fail on a serious or critical violation."""
    page.evaluate(_source() + "\n;undefined")
    violations = page.evaluate("""async () => (await axe.run(document, {runOnly: {type: 'tag',
        values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}})).violations
        .filter((v) => v.impact === 'serious' || v.impact === 'critical')
        .map((v) => `${v.id} (${v.impact}): ${v.help}: ` + v.nodes.slice(0, 3).map((n) => n.target.join(' ')
          + ' ' + (n.failureSummary || '').replace(/\\s+/g, ' ')).join(' | '))""")
    assert not violations, "\n".join(violations)
