"""The bot's Prometheus metrics, on a registry of its own (never the process-global
one: tests and several bots in one process each count their own).

Counted where they happen, each with one cheap call: the turns (:class:`BotCore`), the
platforms' 429 answers and the outbox's failed tries. Read when Prometheus scrapes:
the turns in flight and refused (admission control), and the database's numbers
(:mod:`storage.ops`: the moderation queue, pledges, the outbox's backlog), which the
``/metrics`` page reads just before it renders.

Every name is listed in the README (Operations).
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from bot.core.admission import Admission
from storage.ops import OpsSnapshot

PREFIX = "together_bot_"
RATE_LIMITED = "rate_limited"  # the outbox failure reason of a 429
# A turn's seconds, from its arrival (waiting for its conversation included) to its commit.
TURN_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    """The registry and the metrics the code counts into.

    Args:
        admission: the core's admission control, read at scrape time.
    """

    def __init__(self, admission: Admission) -> None:
        self.registry = CollectorRegistry()
        self._updates = Counter(
            PREFIX + "updates",
            "Updates handled, by platform and kind (text, command, choice, media...)",
            ("platform", "kind"),
            registry=self.registry,
        )
        self._turn_seconds = Histogram(
            PREFIX + "turn_seconds",
            "Seconds from an update's arrival to its committed turn, by platform",
            ("platform",),
            buckets=TURN_BUCKETS,
            registry=self.registry,
        )
        self._rate_limited = Counter(
            PREFIX + "rate_limited",
            "Rate-limit answers (HTTP 429, retry_after) received from a platform",
            ("platform",),
            registry=self.registry,
        )
        self._outbox_failures = Counter(
            PREFIX + "outbox_failures",
            "Outbox sends that failed, by platform and reason "
            "(rate_limited, transient, unreachable, refused, error)",
            ("platform", "reason"),
            registry=self.registry,
        )
        self._flows = Counter(
            PREFIX + "flow_events",
            "Flows started, steps reached, flows completed and cancelled (at which step), "
            "by flow: the story and pledge funnels",
            ("event", "flow", "step"),
            registry=self.registry,
        )
        self._database = _DatabaseNumbers()
        self.registry.register(_AdmissionNumbers(admission))
        self.registry.register(self._database)
        # The hot path's children, looked up once per (platform, kind).
        self._turn_children: dict[tuple[str, str], tuple[Counter, Histogram]] = {}

    def turn(self, platform: str, kind: str, seconds: float) -> None:
        """One update handled (the core's hot path: two in-memory updates, no I/O)."""
        children = self._turn_children.get((platform, kind))
        if children is None:
            children = (
                self._updates.labels(platform, kind),
                self._turn_seconds.labels(platform),
            )
            self._turn_children[(platform, kind)] = children
        children[0].inc()
        children[1].observe(seconds)

    def flow(self, event: str, flow: str, step: str) -> None:
        """A flow started, reached a step, completed or was cancelled (after commit)."""
        self._flows.labels(event, flow, step).inc()

    def rate_limited(self, platform: str) -> None:
        """A platform answered 429 (a direct reply or an outbox row)."""
        self._rate_limited.labels(platform).inc()

    def outbox_failed(self, platform: str, reason: str) -> None:
        """An outbox row's try failed (it is retried or given up); ``rate_limited`` is
        a 429 received as well."""
        self._outbox_failures.labels(platform, reason).inc()
        if reason == RATE_LIMITED:
            self.rate_limited(platform)

    def exposition(self, snapshot: OpsSnapshot | None) -> bytes:
        """The text format of every metric, with ``snapshot`` as the database's numbers
        (None: the database did not answer, and only ``database_up 0`` says so).

        Synchronous from the snapshot to the text: two scrapes never mix their numbers.
        """
        self._database.snapshot = snapshot
        self._database.answered = snapshot is not None
        return generate_latest(self.registry)


class _AdmissionNumbers(Collector):
    def __init__(self, admission: Admission) -> None:
        self.admission = admission

    def collect(self) -> Iterable[Metric]:
        yield GaugeMetricFamily(
            PREFIX + "turns_in_flight",
            "Turns in flight in this process (admission control)",
            value=self.admission.in_flight,
        )
        yield CounterMetricFamily(
            PREFIX + "turns_refused",
            "Turns refused because too many were in flight (answered: try again)",
            value=self.admission.refused,
        )


class _DatabaseNumbers(Collector):
    """The numbers of the latest :class:`OpsSnapshot` (set just before a render)."""

    def __init__(self) -> None:
        self.snapshot: OpsSnapshot | None = None
        self.answered = True

    def collect(self) -> Iterable[Metric]:
        yield GaugeMetricFamily(
            PREFIX + "database_up",
            "1 when the database answered the scrape's queries, else 0",
            value=1 if self.answered else 0,
        )
        snapshot = self.snapshot
        if snapshot is None:
            return
        labelled = (
            ("moderation_queue", "Moderation items waiting, by state", "state", snapshot.queue),
            (
                "moderation_oldest_waiting_seconds",
                "Age of the oldest item waiting in each moderation state",
                "state",
                snapshot.oldest_waiting,
            ),
            ("pledges", "Confirmed pledges, by campaign", "campaign", snapshot.pledges),
            (
                "outbox_pending",
                "Outbox messages not yet sent, by platform",
                "platform",
                snapshot.outbox_pending,
            ),
            (
                "outbox_dead",
                "Outbox messages given up (unreachable, refused, too many tries), by platform",
                "platform",
                snapshot.outbox_dead,
            ),
        )
        for name, documentation, label, values in labelled:
            family = GaugeMetricFamily(PREFIX + name, documentation, labels=(label,))
            for key, value in sorted(values.items()):
                family.add_metric((key,), value)
            yield family
        yield GaugeMetricFamily(
            PREFIX + "outbox_lag_seconds",
            "How long the oldest due, unsent outbox message has waited (0: none is due)",
            value=snapshot.outbox_lag,
        )
