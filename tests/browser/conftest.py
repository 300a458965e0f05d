"""Screenshots of browser tests: saved under ``test-artifacts/screenshots/`` (kept after the run, ignored by
git) and listed at the end of the run, so a reviewer can look at what each test saw."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
_taken = pytest.StashKey[list[Path]]()

Shoot = Callable[..., Path]


@pytest.fixture
def shoot(request: pytest.FixtureRequest) -> Shoot:
    """``shoot(page, suffix="")``: a full-page screenshot named after the test."""
    taken = request.config.stash.setdefault(_taken, [])

    def take(page: Page, suffix: str = "") -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^\w-]+", "-", request.node.name).strip("-") + (f"-{suffix}" if suffix else "")
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        taken.append(path)
        return path

    return take


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    taken = config.stash.get(_taken, [])
    if taken:
        terminalreporter.section("browser screenshots")
        for path in taken:
            terminalreporter.write_line(str(path))
