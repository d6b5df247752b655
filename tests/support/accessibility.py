"""axe-core in the browser tests: a page (or a part of it, shadow roots included) has no WCAG 2.1 A/AA violations."""
from __future__ import annotations

from axe_playwright_python.sync_playwright import Axe

WCAG = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}, "resultTypes": ["violations"]}


def assert_accessible(page, context: str | None = None) -> None:
    """Fail with axe's findings when the page, or the part ``context`` selects, breaks a WCAG A/AA rule."""
    violations = Axe().run(page, context=context, options=WCAG).response["violations"]
    assert not violations, "\n".join(_finding(violation) for violation in violations)


def _finding(violation: dict) -> str:
    # Targets inside shadow roots are lists of selectors (host, then inside): the package's own report chokes on them.
    nodes = "; ".join(f"{node['target']} {node.get('failureSummary', '')}".replace("\n", " ") for node in violation["nodes"][:5])
    return f"{violation['id']} ({violation['impact']}): {violation['help']} -> {nodes}"
