"""The ServiceNow `change_request` representation of a change."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flightdeck.events.catalogue.governance import RiskLevel
from flightdeck.governance.domain.model import ChangeRequest, ChangeState, CloseCode, Impact

STATES = {
    ChangeState.NEW: "New",
    ChangeState.ASSESS: "Assess",
    ChangeState.AUTHORIZE: "Authorize",
    ChangeState.SCHEDULED: "Scheduled",
    ChangeState.IMPLEMENT: "Implement",
    ChangeState.REVIEW: "Review",
    ChangeState.CLOSED: "Closed",
    ChangeState.REJECTED: "Canceled",
    ChangeState.CANCELLED: "Canceled",
}
"""ServiceNow has no rejected state: a rejected change is Canceled with approval rejected."""

RISKS = {
    RiskLevel.CRITICAL: "Very High",
    RiskLevel.HIGH: "High",
    RiskLevel.MEDIUM: "Moderate",
    RiskLevel.LOW: "Low",
}
IMPACTS = {Impact.HIGH: "1 - High", Impact.MEDIUM: "2 - Medium", Impact.LOW: "3 - Low"}
CLOSE_CODES = {
    CloseCode.SUCCESSFUL: "successful",
    CloseCode.SUCCESSFUL_WITH_ISSUES: "successful_issues",
    CloseCode.UNSUCCESSFUL: "unsuccessful",
    CloseCode.CANCELLED: "",
}


def change_number(number: int) -> str:
    """`CHG0001234`."""
    return f"CHG{number:07d}"


def _glide(moment: datetime | None) -> str:
    """ServiceNow's date-time format, in UTC."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if moment else ""


def approval_state(change: ChangeRequest) -> str:
    """`not requested`, `requested`, `approved` or `rejected`."""
    if change.state is ChangeState.REJECTED:
        return "rejected"
    if change.approved_at is not None:
        return "approved"
    if change.state in (ChangeState.NEW, ChangeState.ASSESS, ChangeState.CANCELLED):
        return "not requested"
    return "requested"


def change_request(change: ChangeRequest) -> dict[str, Any]:
    """The change as a ServiceNow `change_request` record (display values)."""
    return {
        "sys_id": change.id,
        "number": change_number(change.number or 0),
        "type": change.classification.value,
        "state": STATES[change.state],
        "risk": RISKS[change.risk_level],
        "impact": IMPACTS[change.impact],
        "urgency": change.urgency.value,
        "short_description": change.title,
        "start_date": _glide(change.planned_start),
        "end_date": _glide(change.planned_end),
        "cmdb_ci": list(change.services),
        "assignment_group": change.team or "",
        "requested_by": change.requested_by,
        "approval": approval_state(change),
        "close_code": CLOSE_CODES[change.close_code] if change.close_code else "",
        "closed_at": _glide(change.closed_at),
        "u_environment": change.environment,
        "u_risk_score": change.risk_score,
        "u_release_id": change.release_id or "",
    }
