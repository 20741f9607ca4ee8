"""The delivery worker: a thread that sends the outbox over MLLP until stopped.

Each round claims a batch of due messages (services/messaging/outbox_queue.py keeps the
per-patient order and the leases), sends them destination by destination over one
connection each, then records every outcome in one transaction. When a destination
cannot be reached, the rest of its batch is given back untouched (no attempt
counted) and the destination rests for a backoff of its own, so an outage costs one
attempt per round, not one per waiting message. All state is in the database: a
restarted worker carries on where the last one stopped.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from datetime import timedelta

from lysbord.config.hl7_out import Hl7Destination, Hl7OutSettings
from lysbord.hl7.messages_out import control_id, render
from lysbord.hl7.outbound import DeliveryError, MllpConnection
from lysbord.services.core.context import Context
from lysbord.services.core.outbox import MessageFacts, subscribe
from lysbord.services.messaging.outbox_queue import Claimed, Outcome, backoff, claim, finish

log = logging.getLogger(__name__)

Connect = Callable[[Hl7Destination, Hl7OutSettings, str], MllpConnection]


def connect(dest: Hl7Destination, s: Hl7OutSettings, default_charset: str) -> MllpConnection:
    """A connection whose ACKs without MSH-18 are read in ``default_charset`` (``[hl7]``'s,
    the one every message we receive falls back to)."""
    timeouts = (s.connect_timeout_seconds, s.ack_timeout_seconds)
    return MllpConnection(dest.host, dest.port, *timeouts, default_charset=default_charset)


def start_outbound(ctx: Context) -> DeliveryWorker | None:
    """Route this process's events into the outbox and, if anyone listens, start sending."""
    subscribe(ctx.db.engine, ctx.settings.hl7_out)
    if not ctx.settings.hl7_out.destinations:
        return None
    worker = DeliveryWorker(ctx)
    worker.start()
    return worker


class DeliveryWorker:
    """Sends the outbox; ``run_once`` is one round (tests drive it), ``start`` loops it."""

    def __init__(self, ctx: Context, connector: Connect = connect) -> None:
        self.ctx = ctx
        self.settings = ctx.settings.hl7_out
        self._connect = connector
        self._open: dict[str, MllpConnection] = {}
        self._resting: dict[str, tuple[float, int]] = {}  # name: (until, failures in a row)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def lease(self) -> timedelta:
        """Long enough for a batch to go out before anyone else may claim it again."""
        s = self.settings
        return timedelta(seconds=s.connect_timeout_seconds + 2 * s.ack_timeout_seconds + 60)

    def run_once(self) -> int:
        """One round: claim, send, record. Returns how many messages were acknowledged."""
        now = time.monotonic()
        resting = [name for name, (until, _) in self._resting.items() if until > now]
        batch = claim(self.ctx, self.settings.batch_size, self.lease, resting)
        if not batch:
            self.close_connections()
            return 0
        deadline = now + self.lease.total_seconds() - self.settings.ack_timeout_seconds - 30
        outcomes: list[Outcome] = []
        for name in dict.fromkeys(m.destination for m in batch):
            mine = [m for m in batch if m.destination == name]
            outcomes += self._send_all(name, mine, deadline)
        finish(self.ctx, self.settings, outcomes)
        return sum(o.sent for o in outcomes)

    def _send_all(self, name: str, batch: Sequence[Claimed], deadline: float) -> list[Outcome]:
        """Send in id order; a line stops at its first failure, everything at a broken link."""
        dest = self.settings.destination(name)
        if dest is None:
            return [Outcome(m.id, error=f"destination {name!r} is not configured") for m in batch]
        outcomes: list[Outcome] = []
        stopped: set[str] = set()
        broken = False
        for m in batch:
            late = time.monotonic() > deadline or self._stop.is_set()
            if broken or late or m.patient_key in stopped:
                outcomes.append(Outcome(m.id))  # given back untried
                continue
            try:
                outcome = self._send(dest, m)
            except DeliveryError as exc:
                log.warning("HL7 to %s: %s", name, exc)
                self._drop(name)
                self._rest(name)
                outcome, broken = Outcome(m.id, error=str(exc)), True
            if not outcome.sent:
                stopped.add(m.patient_key)
            outcomes.append(outcome)
        if any(o.sent for o in outcomes):
            self._resting.pop(name, None)
        return outcomes

    def _send(self, dest: Hl7Destination, m: Claimed) -> Outcome:
        try:
            text = render(m.id, MessageFacts.from_payload(m.payload), self.settings, dest)
        except (KeyError, TypeError, ValueError) as exc:  # a row no renderer can read
            return Outcome(m.id, error=f"cannot render {m.message_type}: {exc!r}")
        conn = self._open.get(dest.name)
        if conn is None:
            charset = self.ctx.settings.hl7.default_charset
            conn = self._open[dest.name] = self._connect(dest, self.settings, charset)
        ack = conn.exchange(text, control_id(m.id))
        if ack.accepted:
            return Outcome(m.id, sent=True)
        return Outcome(m.id, error=f"{ack.code}: {ack.text or 'refused'}")

    def _rest(self, name: str) -> None:
        failures = self._resting.get(name, (0.0, 0))[1] + 1
        pause = backoff(self.settings, failures).total_seconds()
        self._resting[name] = (time.monotonic() + pause, failures)

    def _drop(self, name: str) -> None:
        conn = self._open.pop(name, None)
        if conn is not None:
            conn.close()

    def close_connections(self) -> None:
        for name in list(self._open):
            self._drop(name)

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="lysbord-hl7-out", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Finish the message on the wire, record the round, close the connections."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                busy = self.run_once() > 0
            except Exception:  # the database may be away for a moment: keep the thread alive
                log.exception("HL7 outbound round failed")
                busy = False
            if not busy:
                self._stop.wait(self.settings.poll_seconds)
        self.close_connections()
