"""Rules of a release's scope: admitting items, removing them, freezing the scope, and the
lifecycle moves that deployments and cancellation cause."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from flightdeck.planning.domain.calendar import Occurrence
from flightdeck.planning.domain.dependencies import dependants_of, find_cycle
from flightdeck.planning.domain.errors import (
    InputError,
    InvalidInput,
    NotFound,
    StateConflict,
    Violation,
)
from flightdeck.planning.domain.model import (
    Commit,
    Item,
    ItemKind,
    Release,
    ReleaseState,
    SignoffDecision,
    SignoffFunction,
)

ALWAYS_REQUIRED = (SignoffFunction.DEV, SignoffFunction.QA, SignoffFunction.OPS)


@dataclass(frozen=True)
class ItemDraft:
    """A scope item as asked for, before the release admits it."""

    kind: ItemKind
    title: str
    priority: int
    regulatory: bool
    depends_on: tuple[str, ...] = ()
    commits: tuple[Commit, ...] = ()
    feature_toggle: str | None = None
    id: str | None = None


@dataclass(frozen=True)
class ForeignItem:
    """An item of another release that an item names as a dependency."""

    item_id: str
    release_id: str
    release_state: ReleaseState


def ensure_draft(release: Release, action: str) -> None:
    """409 unless the release is still a draft (its scope is not frozen)."""
    if release.state is not ReleaseState.DRAFT:
        raise StateConflict(
            f"cannot {action}: release {release.id} is {release.state.value}; only a draft "
            "release changes this way",
            state=release.state.value,
        )


def admit_items(
    release: Release,
    drafts: Sequence[ItemDraft],
    ids: Sequence[str],
    foreign: Mapping[str, ForeignItem],
    *,
    location: str = "body",
) -> list[Item]:
    """The items `drafts` become (with `ids`), after checking titles, ids and dependencies
    against the release; InvalidInput listing every problem otherwise."""
    ensure_draft(release, "add items")
    locations = (
        [location]
        if len(drafts) == 1 and location == "body"
        else [f"{location}.{n}" for n in range(len(drafts))]
    )
    known = {item.id for item in release.items}
    errors = _naming_errors(release, drafts, ids, foreign, locations)
    known.update(ids)
    for draft, ident, where in zip(drafts, ids, locations, strict=True):
        errors += _dependency_errors(release, draft, ident, known, foreign, where)
    after = max((item.position for item in release.items), default=-1) + 1
    items = [
        _item(release, draft, ident, after + n)
        for n, (draft, ident) in enumerate(zip(drafts, ids, strict=True))
    ]
    if not errors:
        cycle = find_cycle(_graph([*release.items, *items]))
        if cycle:
            path = " → ".join([*cycle, cycle[0]])
            errors.append(InputError(f"{location}", f"dependency cycle: {path}", "cycle"))
    if errors:
        raise InvalidInput(errors)
    return items


def _naming_errors(
    release: Release,
    drafts: Sequence[ItemDraft],
    ids: Sequence[str],
    foreign: Mapping[str, ForeignItem],
    locations: Sequence[str],
) -> list[InputError]:
    """Ids used before (here or in another release) and titles repeated (case-insensitive)."""
    known = {item.id for item in release.items}
    titles = {item.title.casefold() for item in release.items}
    errors = []
    for draft, ident, where in zip(drafts, ids, locations, strict=True):
        if ident in known or ident in foreign:
            errors.append(InputError(f"{where}.id", f"item id {ident} is already used"))
        if draft.title.casefold() in titles:
            errors.append(InputError(f"{where}.title", f"an item titled {draft.title!r} exists"))
        known.add(ident)
        titles.add(draft.title.casefold())
    return errors


def _item(release: Release, draft: ItemDraft, ident: str, position: int) -> Item:
    return Item(
        id=ident,
        release_id=release.id,
        kind=draft.kind,
        title=draft.title,
        priority=draft.priority,
        regulatory=draft.regulatory,
        depends_on=draft.depends_on,
        commits=draft.commits,
        feature_toggle=draft.feature_toggle,
        position=position,
    )


def _dependency_errors(
    release: Release,
    draft: ItemDraft,
    ident: str,
    known: set[str],
    foreign: Mapping[str, ForeignItem],
    where: str,
) -> list[InputError]:
    errors = []
    listed: set[str] = set()
    for n, need in enumerate(draft.depends_on):
        at = f"{where}.depends_on.{n}"
        other = foreign.get(need)
        if need in listed:
            errors.append(InputError(at, f"{need} is listed twice"))
            continue
        listed.add(need)
        if need == ident:
            errors.append(InputError(at, f"item {ident} cannot depend on itself", "cycle"))
        elif need in known:
            continue
        elif other is None:
            errors.append(InputError(at, f"item {need} does not exist"))
        elif other.release_state is not ReleaseState.RELEASED:
            errors.append(
                InputError(
                    at,
                    f"item {need} belongs to release {other.release_id} "
                    f"({other.release_state.value}), not to release {release.id}; only items "
                    "of released releases may be depended on across releases",
                )
            )
    return errors


def _graph(items: Sequence[Item]) -> dict[str, tuple[str, ...]]:
    return {item.id: item.depends_on for item in items}


def removal(release: Release, item_id: str, *, cascade: bool, reason: str | None) -> list[str]:
    """The ids to remove when removing `item_id` (with its dependants when `cascade`).

    From a draft this is an edit; from a scoped release it is a scope reduction and needs a
    reason. An item others depend on is only removed together with them."""
    if release.state not in (ReleaseState.DRAFT, ReleaseState.SCOPED):
        raise StateConflict(
            f"release {release.id} is {release.state.value}; its scope can no longer change",
            state=release.state.value,
        )
    if release.item(item_id) is None:
        raise NotFound("item", item_id)
    if release.state is ReleaseState.SCOPED and not (reason and reason.strip()):
        raise InvalidInput(
            [InputError("query.reason", "a scope reduction needs a reason", "missing")]
        )
    dependants = sorted(dependants_of(_graph(release.items), [item_id]))
    if dependants and not cascade:
        raise StateConflict(
            f"item {item_id} cannot be removed alone: {', '.join(dependants)} depend on it "
            "(remove them first, or pass cascade=true to remove them together)",
            slug="item-has-dependants",
            dependants=dependants,
        )
    return [item_id, *dependants]


def violations(
    release: Release,
    foreign: Mapping[str, ForeignItem],
    blackouts: Sequence[Occurrence],
    next_free: datetime | None,
) -> list[Violation]:
    """Every rule the release breaks for its scope to be frozen."""
    found = [
        *_criteria_violations(release),
        *_signoff_violations(release),
        *_toggle_violations(release),
        *_dependency_violations(release, foreign),
    ]
    if blackouts:
        found.append(_blackout_violation(release, blackouts, next_free))
    return found


def _criteria_violations(release: Release) -> list[Violation]:
    if release.rollback_criteria:
        return []
    return [Violation("rollback_criteria", "no rollback criteria are defined")]


def required_signoffs(release: Release) -> list[SignoffFunction]:
    """The functions whose approval the release needs (security when anything is regulatory)."""
    regulatory = any(item.regulatory for item in release.items)
    return [*ALWAYS_REQUIRED, *([SignoffFunction.SECURITY] if regulatory else [])]


def _signoff_violations(release: Release) -> list[Violation]:
    """A required function without an approval as its latest decision, and any function
    whose latest decision is a rejection (security rejecting blocks even when nothing is
    regulatory: a reject blocks until the same function approves)."""
    latest = release.latest_signoffs()
    rejecting = [f for f, s in latest.items() if s.decision is SignoffDecision.REJECT]
    found = []
    for function in dict.fromkeys([*required_signoffs(release), *rejecting]):
        signoff = latest.get(function)
        if signoff is None:
            found.append(
                Violation("signoff", f"no {function.value} sign-off", {"function": function.value})
            )
        elif signoff.decision is SignoffDecision.REJECT:
            note = f": {signoff.note}" if signoff.note else ""
            found.append(
                Violation(
                    "signoff",
                    f"{function.value} rejected (by {signoff.signer}){note}; a later approval "
                    f"by {function.value} is needed",
                    {"function": function.value},
                )
            )
    return found


def _toggle_violations(release: Release) -> list[Violation]:
    return [
        Violation(
            "feature_toggle",
            f"item {item.id} ({item.title}) uses toggle {item.feature_toggle!r}, which is not "
            "documented (key, owner, default, remove_by)",
            {"item_id": item.id, "toggle": item.feature_toggle},
        )
        for item in release.items
        if item.feature_toggle is not None and release.toggle(item.feature_toggle) is None
    ]


def _dependency_violations(release: Release, foreign: Mapping[str, ForeignItem]) -> list[Violation]:
    graph = _graph(release.items)
    found = []
    cycle = find_cycle(graph)
    if cycle:
        path = " → ".join([*cycle, cycle[0]])
        found.append(Violation("dependency_cycle", f"dependency cycle: {path}", {"cycle": cycle}))
    for item in release.items:
        for need in item.depends_on:
            other = foreign.get(need)
            satisfied = need in graph or (
                other is not None and other.release_state is ReleaseState.RELEASED
            )
            if not satisfied:
                found.append(
                    Violation(
                        "dependency",
                        f"item {item.id} depends on {need}, which is neither in scope nor "
                        "already released",
                        {"item_id": item.id, "depends_on": need},
                    )
                )
    return found


def _blackout_violation(
    release: Release, blackouts: Sequence[Occurrence], next_free: datetime | None
) -> Violation:
    names = ", ".join(f"{o.name} ({_utc(o.starts_at)} to {_utc(o.ends_at)})" for o in blackouts)
    return Violation(
        "blackout",
        f"the planned window overlaps {len(blackouts)} blackout period(s): {names}",
        {
            "occurrences": [
                {
                    "blackout_id": o.blackout_id,
                    "name": o.name,
                    "starts_at": _utc(o.starts_at),
                    "ends_at": _utc(o.ends_at),
                }
                for o in blackouts
            ],
            "next_free_start": _utc(next_free) if next_free else None,
        },
    )


def _utc(moment: datetime) -> str:
    """RFC 3339 in UTC with `Z`, as the API writes times."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def scoped(release: Release, now: datetime) -> Release:
    """The release with its scope frozen (call after `violations` came back empty)."""
    ensure_draft(release, "freeze the scope")
    return release.bumped(state=ReleaseState.SCOPED, scoped_at=now)
