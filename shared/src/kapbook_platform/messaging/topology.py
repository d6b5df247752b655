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
    "reminders": ("booking.#", "screening.crisis.#", "check_in.alert.#", "staff.#", "series.#", "patient.sign_in_link.#",
                  "webhook.#", "waitlist.#"),
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

    def service_queue(self, service: str, *, declare_exchange: bool = True) -> Queue:
        """The durable queue of ``service`` with one binding per subscription.

        ``declare_exchange=False``: declaring the queue (its consumer does) binds it without
        redeclaring the events exchange, which a service's own broker user may not configure.
        """
        bindings = SUBSCRIPTIONS[service]
        exchange = self.events_exchange
        if not declare_exchange:
            exchange = Exchange(exchange.name, type=exchange.type, durable=True, no_declare=True)
        queue = Queue(
            f"{self.namespace}.{service}",
            exchange=exchange,
            routing_key=bindings[0],
            durable=True,
            queue_arguments=self._queue_arguments(dead_letter=True),
        )
        return queue if len(bindings) == 1 else self._with_bindings(queue, exchange, bindings)

    def _with_bindings(self, queue: Queue, exchange: Exchange, bindings: tuple[str, ...]) -> Queue:
        from kombu import binding

        return Queue(
            queue.name,
            bindings=[binding(exchange, routing_key=key) for key in bindings],
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
        """Declare both exchanges and every queue with its bindings (idempotent).

        In docker compose each service reaches RabbitMQ as its own user, which may configure only
        its own queue; deploy/rabbitmq-definitions.json declares the rest. What such a user may not
        declare is then checked passively (that needs no permission) instead.
        """
        if connection.transport.driver_type != "amqp":
            channel = connection.default_channel
            self.events_exchange(channel).declare()
            self.dead_letter_exchange(channel).declare()
            for queue in self.all_queues():
                queue(channel).declare()
            return
        for exchange in (self.events_exchange, self.dead_letter_exchange):
            _declare_or_check(
                connection, exchange.name,
                lambda channel, exchange=exchange: exchange(channel).declare(),
                lambda channel, name=exchange.name: channel.exchange_declare(name, "topic", passive=True),
            )
        for queue in self.all_queues():
            _declare_or_check(
                connection, queue.name,
                lambda channel, queue=queue: self._declare_queue(channel, queue),
                lambda channel, name=queue.name: channel.queue_declare(name, passive=True),
            )

    def _declare_queue(self, channel, queue: Queue) -> None:
        queue(channel).queue_declare()
        for item in queue.bindings or [queue]:
            channel.queue_bind(queue=queue.name, exchange=item.exchange.name, routing_key=item.routing_key)


def _declare_or_check(connection: Connection, name: str, declare, check) -> None:
    """Declare on a channel of its own (a refusal closes it); if refused, the object must already exist."""
    from amqp.exceptions import AccessRefused, NotFound

    try:
        _on_own_channel(connection, declare)
    except AccessRefused:
        try:
            _on_own_channel(connection, check)
        except NotFound:
            raise RuntimeError(
                f"the broker has no {name} and this broker user may not declare it: "
                "load deploy/rabbitmq-definitions.json (docker compose does) or use a user that may"
            ) from None


def _on_own_channel(connection: Connection, action) -> None:
    channel = connection.channel()
    try:
        action(channel)
    finally:
        try:
            channel.close()
        except Exception:  # noqa: BLE001 - the broker has already closed it after a refusal
            pass
