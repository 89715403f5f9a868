"""Reading release milestones for the value stream (see `domain.value_stream` for the rules)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from flightdeck.metrics.db.tables import (
    change_approvals,
    deployment_starts,
    deployments,
    release_milestones,
    verifications,
    windows_opened,
)
from flightdeck.metrics.domain.value_stream import Timeline, matching_window

m = release_milestones


async def releases_between(
    conn: AsyncConnection, start_us: int, end_us: int, teams: Sequence[str]
) -> list[str]:
    """Releases first planned (or, unplanned, scoped) inside the window, of `teams`."""
    first = (
        select(m.c.release_id, func.min(m.c.at_us).label("first_us"))
        .group_by(m.c.release_id)
        .subquery()
    )
    query = select(first.c.release_id).where(
        first.c.first_us >= start_us, first.c.first_us < end_us
    )
    if teams:
        owned = select(m.c.release_id).where(m.c.team.in_(teams))
        query = query.where(first.c.release_id.in_(owned))
    return [row[0] for row in await conn.execute(query.order_by(first.c.release_id))]


async def timelines(conn: AsyncConnection, release_ids: Sequence[str]) -> list[Timeline]:
    """The milestones of each release that has any."""
    if not release_ids:
        return []
    ids = list(release_ids)
    reached: dict[str, dict[str, int | None]] = {release_id: {} for release_id in ids}
    teams: dict[str, str] = {}
    targets: dict[str, str] = {}
    milestones = (
        select(
            m.c.release_id,
            m.c.milestone,
            func.min(m.c.at_us),
            func.max(m.c.team),
            func.max(m.c.target_environment),
        )
        .where(m.c.release_id.in_(ids))
        .group_by(m.c.release_id, m.c.milestone)
    )
    for release_id, milestone, at_us, team, target in await conn.execute(milestones):
        reached[release_id][milestone] = at_us
        teams[release_id], targets[release_id] = team, target
    a, s, d = change_approvals, deployment_starts, deployments
    target = (
        select(m.c.release_id, func.max(m.c.target_environment).label("environment"))
        .where(m.c.release_id.in_(ids))
        .group_by(m.c.release_id)
        .subquery("target")
    )
    s_target = [s.c.release_id == target.c.release_id, s.c.environment == target.c.environment]
    d_target = [d.c.release_id == target.c.release_id, d.c.environment == target.c.environment]
    firsts = {
        "change_approved": select(a.c.release_id, func.min(a.c.approved_us)).where(
            a.c.release_id.in_(ids)
        ),
        "deployment_started": select(s.c.release_id, func.min(s.c.started_us)).where(*s_target),
        "started_by_finish": select(d.c.release_id, func.min(d.c.started_us)).where(*d_target),
        "deployment_finished": select(d.c.release_id, func.max(d.c.finished_us)).where(
            *d_target, d.c.succeeded.is_(True)
        ),
    }
    for milestone, query in firsts.items():
        release_id_column = query.selected_columns[0]
        await _collect(conn, reached, milestone, query.group_by(release_id_column))
    v = verifications
    of_release = select(d.c.deployment_id).where(d.c.release_id.in_(ids))
    release_of = func.coalesce(v.c.release_id, d.c.release_id)
    verified = (  # passed in the release's target environment
        select(release_of, func.max(v.c.passed_us))
        .select_from(
            v.outerjoin(d, d.c.deployment_id == v.c.deployment_id).join(
                target, target.c.release_id == release_of
            )
        )
        .where(
            or_(v.c.release_id.in_(ids), v.c.deployment_id.in_(of_release)),
            v.c.environment == target.c.environment,
        )
        .group_by(release_of)
    )
    await _collect(conn, reached, "verified", verified)
    opens = await _window_openings(conn, set(targets.values()))
    result = []
    for release_id in ids:
        marks = reached[release_id]
        if not marks:
            continue
        starts = [
            s
            for s in (marks.pop("started_by_finish", None), marks.get("deployment_started"))
            if s is not None
        ]
        marks["deployment_started"] = min(starts) if starts else None
        before = next(
            (
                marks[k]
                for k in ("change_approved", "scoped", "planned")
                if marks.get(k) is not None
            ),
            None,
        )
        marks["window_opened"] = matching_window(
            opens.get(targets.get(release_id, ""), []), before, marks["deployment_started"]
        )
        result.append(Timeline(release_id, teams.get(release_id), marks))
    return result


async def _collect(
    conn: AsyncConnection, reached: dict[str, dict[str, int | None]], milestone: str, query: object
) -> None:
    for release_id, at_us in await conn.execute(query):  # type: ignore[call-overload]
        if release_id in reached:
            reached[release_id][milestone] = at_us


async def _window_openings(conn: AsyncConnection, environments: set[str]) -> dict[str, list[int]]:
    if not environments:
        return {}
    query = select(windows_opened.c.environment, windows_opened.c.opens_us).where(
        windows_opened.c.environment.in_(environments)
    )
    opens: dict[str, list[int]] = defaultdict(list)
    for environment, opens_us in await conn.execute(query):
        opens[environment].append(opens_us)
    return opens
