"""Every exchange and queue, declared in one place and by every process.

One durable topic exchange carries all events; each consuming service has one durable queue
with its bindings; a dead-letter exchange and queue keep what could not be handled.
On RabbitMQ the queues are quorum queues that dead-letter after a bounded number of deliveries
(a safety net for handlers that crash the process; ordinary failures are retried and
dead-lettered by the consumer itself, which works on every transport).
"""
from __future__ import annotations

from dataclasses import dataclass

from kombu import Connection, Exchange, Queue

# Which event routing keys each consuming service listens to.
SUBSCRIPTIONS: dict[str, tuple[str, ...]] = {
    "booking": ("screening.#",),
    "eligibility": ("staff.#",),
    "reminders": ("booking.#", "screening.crisis.#", "staff.#", "series.#", "patient.sign_in_link.#", "webhook.#"),
}
DELIVERY_LIMIT = 5


@dataclass(frozen=True)
class Topology:
    """Names and arguments of the broker objects, under a namespace (``kapbook`` by default)."""

    namespace: str = "kapbook"
    quorum: bool = False

    @property
    def events_exchange(self) -> Exchange:
        return Exchange(f"{self.namespace}.events", type="topic", durable=True)

    @property
    def dead_letter_exchange(self) -> Exchange:
        return Exchange(f"{self.namespace}.dead-letter", type="topic", durable=True)

    @property
    def dead_letter_queue(self) -> Queue:
        return Queue(
            f"{self.namespace}.dead-letter",
            exchange=self.dead_letter_exchange,
            routing_key="#",
            durable=True,
            queue_arguments=self._queue_arguments(dead_letter=False),
        )

    def service_queue(self, service: str) -> Queue:
        """The durable queue of ``service`` with one binding per subscription."""
        bindings = SUBSCRIPTIONS[service]
        queue = Queue(
            f"{self.namespace}.{service}",
            exchange=self.events_exchange,
            routing_key=bindings[0],
            durable=True,
            queue_arguments=self._queue_arguments(dead_letter=True),
        )
        return queue if len(bindings) == 1 else self._with_bindings(queue, bindings)

    def _with_bindings(self, queue: Queue, bindings: tuple[str, ...]) -> Queue:
        from kombu import binding

        return Queue(
            queue.name,
            bindings=[binding(self.events_exchange, routing_key=key) for key in bindings],
            durable=True,
            queue_arguments=queue.queue_arguments,
        )

    def _queue_arguments(self, *, dead_letter: bool) -> dict:
        if not self.quorum:
            return {}
        arguments = {"x-queue-type": "quorum"}
        if dead_letter:
            arguments |= {"x-dead-letter-exchange": self.dead_letter_exchange.name, "x-delivery-limit": DELIVERY_LIMIT}
        return arguments

    def all_queues(self) -> list[Queue]:
        return [self.dead_letter_queue, *(self.service_queue(name) for name in SUBSCRIPTIONS)]

    def declare(self, connection: Connection) -> None:
        """Declare both exchanges and every queue with its bindings (idempotent)."""
        channel = connection.default_channel
        self.events_exchange(channel).declare()
        self.dead_letter_exchange(channel).declare()
        for queue in self.all_queues():
            queue(channel).declare()
