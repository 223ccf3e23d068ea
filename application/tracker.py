"""The event-sourced application: one method per command, plus history and time travel."""

from __future__ import annotations

import threading
from concurrent.futures import Future
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError, JSONTranscoder, Recording, Transcoding

from application.committer import GroupCommitter
from application.errors import (
    IdempotencyKeyReusedError,
    IncidentNotFoundError,
    ServiceNotFoundError,
    SessionNotFoundError,
    VersionMismatchError,
    VersionNotFoundError,
)
from application.ids import random_uuid
from application.records import HistoryEntry, IncidentState, IncidentWrite, ServiceRecord
from domain.actor import Actor
from domain.errors import ConflictError
from domain.incident import Incident, Source, Status
from domain.service import Scope, Service
from domain.session import RefreshTokenReusedError, Session

_IDEMPOTENCY_NAMESPACE = uuid5(NAMESPACE_URL, "urn:incident-tracker:idempotency")
_MAX_ATTEMPTS = 200  # optimistic-concurrency retries for one status change


class ActorAsDict(Transcoding):
    type = Actor
    name = "actor"

    def encode(self, obj: Actor) -> dict[str, str]:
        return {"id": obj.id, "name": obj.name}

    def decode(self, data: dict[str, str]) -> Actor:
        return Actor(**data)


class IncidentTracker(Application[UUID]):
    """Services, their token sessions and their incidents, in one event store.

    Every write goes through a group committer; see ``application.committer``.
    """

    name = "IncidentTracker"

    def __init__(self, env: dict[str, str] | None = None) -> None:
        super().__init__(env)
        self._committer = GroupCommitter(super().save)
        self._services: dict[UUID, ServiceRecord] = {}  # services never change once registered
        self._services_lock = threading.Lock()

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(ActorAsDict())

    def close(self) -> None:
        self._committer.close()
        super().close()

    def _save(self, *aggregates: Any) -> int | None:
        return _position(self._committer.save(*aggregates))

    # Services -------------------------------------------------------------------------------

    def register_service(self, name: str, scopes: list[Scope]) -> ServiceRecord:
        service = Service.register(name, scopes)
        self._save(service)
        return ServiceRecord.of(service)

    def get_service(self, service_id: UUID) -> ServiceRecord:
        record = self._services.get(service_id)
        if record is None:
            try:
                service: Service = self.repository.get(service_id)
            except AggregateNotFoundError:
                raise ServiceNotFoundError(f"service {service_id} does not exist") from None
            if not isinstance(service, Service):
                raise ServiceNotFoundError(f"service {service_id} does not exist")
            record = ServiceRecord.of(service)
            with self._services_lock:
                if len(self._services) > 100_000:
                    self._services.clear()
                self._services[service_id] = record
        return record

    # Token sessions -------------------------------------------------------------------------

    def start_session(self, service: ServiceRecord, refresh_token_id: str) -> UUID:
        session = Session(service=service.actor, scopes=list(service.scopes),
                          refresh_token_id=refresh_token_id)
        self._save(session)
        return session.id

    def rotate_refresh_token(self, session_id: UUID, presented: str, new: str) -> None:
        """Swap refresh tokens; a reused (stale) token revokes the session and raises."""
        for _ in range(_MAX_ATTEMPTS):
            session = self._get_session(session_id)
            try:
                session.rotate(presented, new)
            except RefreshTokenReusedError:
                self._save_ignoring_conflict(session)
                raise
            try:
                self._save(session)
            except IntegrityError:
                continue  # a concurrent refresh won; the reload sees a stale token and revokes
            return
        raise ConflictError("the session is changing too fast; try again")

    def revoke_session(self, session_id: UUID, reason: str) -> bool:
        for _ in range(_MAX_ATTEMPTS):
            session = self._get_session(session_id)
            if not session.revoke(reason):
                return False
            try:
                self._save(session)
            except IntegrityError:
                continue
            return True
        return False

    def _save_ignoring_conflict(self, session: Session) -> None:
        try:
            self._save(session)
        except IntegrityError:
            self.revoke_session(session.id, "refresh token reused")

    def _get_session(self, session_id: UUID) -> Session:
        try:
            session = self.repository.get(session_id)
        except AggregateNotFoundError:
            raise SessionNotFoundError(f"session {session_id} does not exist") from None
        if not isinstance(session, Session):
            raise SessionNotFoundError(f"session {session_id} does not exist")
        return session

    # Incidents ------------------------------------------------------------------------------

    def report_incident(
        self, source: Source, description: str, actor: Actor, idempotency_key: str | None = None
    ) -> IncidentWrite:
        if idempotency_key is None:
            return self.submit_report(source, description, actor).result()
        incident_id = uuid5(_IDEMPOTENCY_NAMESPACE, f"{actor.id}\n{idempotency_key}")
        for _ in range(2):
            existing = self._find_incident(incident_id)
            if existing is not None:
                if not existing.is_same_report(source, description, actor):
                    raise IdempotencyKeyReusedError(
                        "this Idempotency-Key was already used with a different request"
                    )
                return IncidentWrite(IncidentState.of(existing), self.last_position(), True)
            incident = Incident.report(incident_id, source, description, actor)
            try:
                return IncidentWrite(IncidentState.of(incident), self._save(incident))
            except IntegrityError:
                continue  # the same key raced us; the next round finds its incident
        raise IdempotencyKeyReusedError("this Idempotency-Key is being used concurrently")

    def submit_report(
        self, source: Source, description: str, actor: Actor
    ) -> Future[IncidentWrite]:
        """Report an incident without waiting: the future resolves once its event is committed.

        Building the incident is pure computation, so an event loop may call this directly and
        await the future, instead of tying up a thread for the commit's duration.
        """
        incident = Incident.report(random_uuid(), source, description, actor)
        state = IncidentState.of(incident)
        written: Future[IncidentWrite] = Future()

        def committed(saved: Future[list[Recording[Any]]]) -> None:
            error = saved.exception()
            if error is not None:
                written.set_exception(error)
            else:
                written.set_result(IncidentWrite(state, _position(saved.result())))

        self._committer.submit(incident).add_done_callback(committed)
        return written

    def change_status(
        self, incident_id: UUID, to: Status, actor: Actor, expected_version: int | None = None
    ) -> IncidentWrite:
        """Move an incident along the workflow; retried on concurrent writers, never lost."""
        for _ in range(_MAX_ATTEMPTS):
            incident = self._get_incident(incident_id)
            if expected_version is not None and incident.version != expected_version:
                raise VersionMismatchError(expected_version, incident.version)
            if not incident.change_status(to, actor):
                return IncidentWrite(IncidentState.of(incident), None)
            try:
                position = self._save(incident)
            except IntegrityError:
                continue  # someone else changed it first: reload and judge the change again
            return IncidentWrite(IncidentState.of(incident), position)
        raise ConflictError("the incident is changing too fast; try again")

    def incident_at(self, incident_id: UUID, version: int) -> IncidentState:
        """Time travel: the incident as it was after its ``version``-th event."""
        incident = self._get_incident(incident_id, version=version)
        if incident.version != version:
            raise VersionNotFoundError(
                f"incident {incident_id} has no version {version}; "
                f"its latest version is {incident.version}"
            )
        return IncidentState.of(incident)

    def history(self, incident_id: UUID) -> list[HistoryEntry]:
        events = list(self.events.get(incident_id))
        if not events or not isinstance(events[0], Incident.IncidentReported):
            raise IncidentNotFoundError(f"incident {incident_id} does not exist")
        return [_history_entry(e) for e in events]

    def last_position(self) -> int:
        return self.recorder.max_notification_id() or 0

    def _find_incident(self, incident_id: UUID) -> Incident | None:
        try:
            return self._get_incident(incident_id)
        except IncidentNotFoundError:
            return None

    def _get_incident(self, incident_id: UUID, version: int | None = None) -> Incident:
        try:
            incident = self.repository.get(incident_id, version=version)
        except AggregateNotFoundError:
            raise IncidentNotFoundError(f"incident {incident_id} does not exist") from None
        if not isinstance(incident, Incident):
            raise IncidentNotFoundError(f"incident {incident_id} does not exist")
        return incident


def _position(recordings: list[Recording[Any]]) -> int | None:
    """The notification id of the last event recorded (what a reader must wait for)."""
    return max((r.notification.id for r in recordings), default=None)


def _history_entry(event: Any) -> HistoryEntry:
    kind = type(event).__name__
    if isinstance(event, Incident.IncidentReported):
        actor, data = event.reported_by, {"source": event.source, "description": event.description}
    else:
        actor, data = event.changed_by, {"from": event.from_status, "to": event.to_status}
    return HistoryEntry(event.originator_version, kind, event.timestamp, actor, data)
