"""Release notes and runbooks, regenerated from the release's current state."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flightdeck.planning.domain.model import (
    Comparator,
    ItemKind,
    Release,
    RollbackCriterion,
    SignoffDecision,
)

_COMPARATOR_TEXT = {
    Comparator.GT: "above",
    Comparator.GTE: "at or above",
    Comparator.LT: "below",
    Comparator.LTE: "at or below",
    Comparator.EQ: "equal to",
}


def notes(release: Release) -> dict[str, Any]:
    """The release notes: features, fixes, toggles and known issues."""

    def titled(kind: ItemKind) -> list[dict[str, Any]]:
        return [
            {"item_id": item.id, "title": item.title, "feature_toggle": item.feature_toggle}
            for item in release.items
            if item.kind is kind
        ]

    return {
        "release_id": release.id,
        "name": release.name,
        "version": release.version,
        "state": release.state.value,
        "services": list(release.services),
        "features": titled(ItemKind.FEATURE),
        "fixes": titled(ItemKind.FIX),
        "toggles": [
            {
                "key": toggle.key,
                "owner": toggle.owner,
                "default": toggle.default,
                "remove_by": toggle.remove_by.isoformat(),
                "description": toggle.description,
            }
            for toggle in release.toggles
        ],
        "known_issues": [
            {"title": issue.title, "workaround": issue.workaround, "impact": issue.impact}
            for issue in release.known_issues
        ],
    }


def notes_markdown(release: Release) -> str:
    """The release notes as Markdown."""
    document = notes(release)
    lines = [f"# {release.name} {release.version}", ""]
    lines += [f"Services: {', '.join(release.services)}. State: {release.state.value}.", ""]
    for heading, key in (("Features", "features"), ("Fixes", "fixes")):
        lines += [f"## {heading}", ""]
        lines += [_item_line(entry) for entry in document[key]] or ["None."]
        lines.append("")
    lines += ["## Feature toggles", ""]
    lines += [
        f"- `{t['key']}` (owner {t['owner']}, default {'on' if t['default'] else 'off'}, "
        f"remove by {t['remove_by']}){': ' + _inline(t['description']) if t['description'] else ''}"
        for t in document["toggles"]
    ] or ["None."]
    lines += ["", "## Known issues", ""]
    lines += [
        f"- **{i['title']}**: {_inline(i['impact'])} Workaround: {_inline(i['workaround'])}"
        for i in document["known_issues"]
    ] or ["None."]
    return "\n".join(lines) + "\n"


def _inline(text: str) -> str:
    """Free text on one line of a Markdown list (its line breaks would end the item, or
    start a heading)."""
    return " ".join(text.split())


def _item_line(entry: dict[str, Any]) -> str:
    toggle = f" (behind toggle `{entry['feature_toggle']}`)" if entry["feature_toggle"] else ""
    return f"- {entry['title']}{toggle}"


def runbook(release: Release) -> dict[str, Any]:
    """Ordered deployment steps per service, the rollback procedure derived from the rollback
    criteria, and the people to contact."""
    steps: list[dict[str, Any]] = []
    for service in release.services:
        for action in (
            f"Confirm the change for {service} is approved and a deployment window is open "
            f"on {release.target_environment}",
            f"Deploy {service} {release.version} to {release.target_environment}",
            _watch(service, release.rollback_criteria),
        ):
            steps.append({"order": len(steps) + 1, "service": service, "action": action})
    return {
        "release_id": release.id,
        "name": release.name,
        "version": release.version,
        "target_environment": release.target_environment,
        "steps": steps,
        "rollback": {
            "triggers": [_trigger(criterion) for criterion in release.rollback_criteria],
            "procedure": [
                f"Roll back {service} to its previous version on {release.target_environment}"
                for service in reversed(release.services)
            ]
            + ["Announce the rollback to the contacts below and record a known issue"],
        },
        "contacts": _contacts(release),
    }


def _watch(service: str, criteria: Sequence[RollbackCriterion]) -> str:
    """The step after a service's deployment: which metrics to watch, and for how long."""
    if not criteria:
        return f"Watch {service}'s health (no rollback criteria are defined)"
    metrics = ", ".join(dict.fromkeys(c.metric for c in criteria))
    longest = max(c.window_seconds for c in criteria)
    return f"Watch {metrics} of {service} for {longest} s (the longest rollback window)"


def _trigger(criterion: RollbackCriterion) -> dict[str, Any]:
    return {
        "metric": criterion.metric,
        "comparator": criterion.comparator.value,
        "threshold": criterion.threshold,
        "window_seconds": criterion.window_seconds,
        "condition": (
            f"roll back when {criterion.metric} is {_COMPARATOR_TEXT[criterion.comparator]} "
            f"{criterion.threshold:g} over {criterion.window_seconds} s"
        ),
    }


def _contacts(release: Release) -> list[dict[str, str]]:
    contacts = [{"role": "owner", "name": release.owner}]
    for function, signoff in sorted(release.latest_signoffs().items()):
        if signoff.decision is SignoffDecision.APPROVE:
            contacts.append({"role": f"{function.value} sign-off", "name": signoff.signer})
    return contacts


def runbook_markdown(release: Release) -> str:
    """The runbook as Markdown."""
    book = runbook(release)
    lines = [f"# Runbook: {release.name} {release.version}", "", "## Steps", ""]
    lines += [f"{step['order']}. [{step['service']}] {step['action']}" for step in book["steps"]]
    lines += ["", "## Rollback", "", "Triggers:", ""]
    lines += [f"- {t['condition']}" for t in book["rollback"]["triggers"]] or ["- none defined"]
    lines += ["", "Procedure:", ""]
    lines += [f"{n}. {text}" for n, text in enumerate(book["rollback"]["procedure"], start=1)]
    lines += ["", "## Contacts", ""]
    lines += [f"- {c['role']}: {c['name']}" for c in book["contacts"]]
    return "\n".join(lines) + "\n"
