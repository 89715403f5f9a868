"""The governance unit of work: repositories on one session, and webhook deliveries written
with every event and state change the transaction commits."""

from __future__ import annotations

from typing import Any

import orjson

from flightdeck.events.codec import format_time
from flightdeck.events.envelope import Envelope
from flightdeck.governance.db import webhooks
from flightdeck.governance.db.audit import AuditLog
from flightdeck.governance.db.changes import ChangeRepository
from flightdeck.governance.db.history import HistoryRepository
from flightdeck.kit.context import utc_now
from flightdeck.kit.uow import UnitOfWork


def webhook_body(event_id: str, event_type: str, subject: str, time: str, data: Any) -> bytes:
    """A webhook payload: a CloudEvents structured JSON document."""
    return orjson.dumps(
        {
            "specversion": "1.0",
            "id": event_id,
            "source": "/flightdeck/governance",
            "type": event_type,
            "subject": subject,
            "time": time,
            "datacontenttype": "application/json",
            "data": data,
        }
    )


class GovernanceUnitOfWork(UnitOfWork):
    """`changes`, `history` and `audit` on the open session; `notify` queues a webhook-only
    notice (state changes)."""

    changes: ChangeRepository
    history: HistoryRepository
    audit: AuditLog

    def _open(self) -> None:
        self.changes = ChangeRepository(self.session)
        self.history = HistoryRepository(self.session)
        self.audit = AuditLog(self.session)
        self._notices: list[tuple[str, bytes]] = []

    def notify(self, event_type: str, body: bytes) -> None:
        """Send `body` to the receivers of `event_type` once the transaction commits."""
        self._notices.append((event_type, body))

    async def commit(self) -> None:
        """Write webhook deliveries for the staged events and notices, then commit."""
        notices = [*self._notices, *(self._notice(envelope) for envelope in self.staged)]
        await webhooks.enqueue(self.session, notices, utc_now())
        self._notices = []
        await super().commit()

    @staticmethod
    def _notice(envelope: Envelope[Any]) -> tuple[str, bytes]:
        body = webhook_body(
            envelope.id,
            envelope.type,
            envelope.subject,
            format_time(envelope.time),
            envelope.data.model_dump(mode="json"),
        )
        return envelope.type, body
