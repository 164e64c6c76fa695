"""OrderManager: the order lifecycle, persisted before it is announced.

Rules:

* **Lifecycle.** Every status change follows
  :data:`vibe.common.models.ORDER_TRANSITIONS`. Changes made here go through
  :meth:`Order.transition`; changes announced by the venue are checked against
  the last persisted state before anything is stored, and an illegal one is
  refused (:class:`~vibe.common.errors.InvalidTransitionError`, reported to health,
  neither stored nor forwarded).
* **Idempotent client order ids.** :func:`client_order_id` derives the id from
  strategy, symbol, the signal's time and the order's purpose, so the same
  decision made again (a retry, or a replay after a restart) maps to the same id.
  :meth:`OrderManager.submit` returns the order already known under that id
  instead of sending a duplicate; a stored order that never reached the venue
  (``pending``) is sent then. Bracket legs get ``<entry id>-sl`` / ``<entry id>-tp``.
* **Persist, then announce.** The manager is the venue's listener: it writes the
  order with its status history and fills to the :class:`TradeStore` and only
  after the commit calls its own subscribers. A new order is stored (and
  committed) as ``pending`` before it is sent. A storage failure is reported to
  health and raised; the event is not forwarded.
* **Units of work.** The events one call produces (a bracket's entry and legs
  accepted, an entry and its legs cancelled) are written in one transaction and
  announced, in order, once it has committed: see :meth:`OrderManager.unit_of_work`,
  which callers may also open around several calls. All or nothing: if anything
  in the unit fails, none of its events is stored or announced. An event the
  venue sends outside any call (a fill while it processes a bar) is its own unit.
* **Booking inside the unit.** What an event implies in the books (a fill's
  trade row, the take-profit re-priced from the entry fill, the trade closed by
  the exit fill, the sibling leg cancelled) is written by *bookers*
  (:meth:`OrderManager.subscribe_booking`), called inside the event's unit right
  after it is stored, so the fill and its booking commit together: a ``kill -9``
  leaves either both or neither. Bookers defer what must wait for the commit
  (alerts, metrics) with :meth:`OrderManager.after_commit`.
* **Start-up.** :meth:`OrderManager.recover` loads open orders and positions from
  the database and compares them with the venue's view. Differences are logged,
  reported to health (state ``degraded``) and returned; nothing is overwritten.

why-large: one state machine: the unit of work (commit, then announce), the lifecycle
checks and the reconciliation at start-up read and write the same tracked orders;
the venue reseeding and the mismatch records are in :mod:`.recovery`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from itertools import pairwise
from types import TracebackType

from vibe.common.clock import Clock
from vibe.common.errors import InvalidTransitionError, OrderRejectedError, VibeError
from vibe.common.models import (
    ORDER_TRANSITIONS,
    Order,
    OrderStatus,
    OrderType,
    can_transition,
)
from vibe.trading_bot.core.health_reporter import HealthReporter, HealthState
from vibe.trading_bot.exchange.base import OrderEvent, OrderEventKind, OrderListener, Venue
from vibe.trading_bot.execution.recovery import (
    Mismatch,
    RecoveryReport,
    order_view,
    pos_view,
)
from vibe.trading_bot.storage.trade_store import TradeStore
from vibe.trading_bot.storage.unit_of_work import BatchBlock
from vibe.trading_bot.utils.logger import get_logger

_log = get_logger(__name__)
_PRICE_TOLERANCE = 1e-9


def client_order_id(strategy: str, symbol: str, at: datetime, purpose: str) -> str:
    """The deterministic client order id ``<strategy>-<symbol>-<UTC time>-<purpose>``.

    Args:
        strategy: strategy name (``manual`` when empty).
        symbol: ticker.
        at: the decision's time (the signal's timestamp), tz-aware.
        purpose: e.g. ``entry`` or ``exit-end_of_day``.
    """
    stamp = at.astimezone(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return f"{strategy or 'manual'}-{symbol}-{stamp}-{purpose}"


class OrderManager:
    """Owns order state: submits through the venue, persists every change, then announces it.

    Args:
        store: where orders, status history and fills are written.
        exchange: the venue (registers this manager as its listener).
        clock: time source for changes made here.
        health: receives persistence failures, refused transitions and mismatches.
    """

    def __init__(
        self, store: TradeStore, exchange: Venue, clock: Clock, health: HealthReporter
    ) -> None:
        self.store = store
        self._store = store
        self._exchange = exchange
        self._clock = clock
        self._health = health
        self._orders: dict[str, Order] = {}
        self._by_client: dict[str, Order] = {}
        self._seen: dict[str, int] = {}  # order id -> history entries already persisted
        self._subscribers: list[OrderListener] = []
        self._bookers: list[OrderListener] = []
        # stored in the open unit, not announced yet: events and deferred actions, in order
        self._queue: list[OrderEvent | Callable[[], object]] | None = None
        self._undo: dict[str, int | None] = {}  # ``_seen`` before the open unit
        self._store_batch: BatchBlock | None = None  # the open unit's store batch, once begun
        exchange.add_listener(self.handle_event)

    def subscribe(self, listener: OrderListener) -> None:
        """Call ``listener(event)`` after each event has been persisted (committed)."""
        self._subscribers.append(listener)

    def subscribe_booking(self, booker: OrderListener) -> None:
        """Call ``booker(event)`` inside the event's unit of work, right after it is stored.

        The booker's writes to the trade store (and the order changes it makes
        through this manager) join the same transaction as the event: they commit
        together or not at all. A booker that raises rolls the whole unit back.
        Side effects that must wait for the commit go through :meth:`after_commit`.
        """
        self._bookers.append(booker)

    def after_commit(self, action: Callable[[], object]) -> None:
        """Run ``action`` once the open unit of work has committed (at once outside one).

        Actions run in order with the unit's event announcements; they are
        dropped when the unit rolls back.
        """
        if self._queue is None:
            action()
        else:
            self._queue.append(action)

    def get(self, order_id: str) -> Order | None:
        """An order seen by this manager (this run or recovered), or ``None``."""
        return self._orders.get(order_id)

    def unit_of_work(self) -> OrderUnit:
        """Store every order event of the block in one transaction, then announce them.

        Re-entrant: an inner block joins the outer one. The transaction begins
        with the block's first event (a block without events writes nothing and
        commits nothing, e.g. a bar that fills no working order). Events are
        checked and written as they arrive; when the outermost block ends they are committed
        together and then announced to the subscribers in arrival order. A new
        order submitted inside the block is still committed before it is sent
        (the transaction is committed at that point and continues). If an
        exception leaves the block, the uncommitted writes are rolled back and
        their events are not announced. A subscriber that raises does not keep
        the other committed events from being announced; the first exception is
        raised once all have been.

        Returns:
            The block (``with manager.unit_of_work(): ...``).

        Raises:
            StorageError | TemporaryError: the commit failed (reported to health).
        """
        return OrderUnit(self)

    def begin_unit(self) -> bool:
        """Open a unit of work unless one is open (:meth:`unit_of_work`'s entry).

        Returns:
            Whether this call opened it (the outermost block, which must end it).
        """
        if self._queue is not None:
            return False
        self._queue, self._undo, self._store_batch = [], {}, None
        return True

    def end_unit(self, exc: BaseException | None) -> None:
        """End the unit :meth:`begin_unit` opened: commit and announce, or roll back.

        ``exc`` is the exception leaving the block (``None``: it ended normally);
        it rolls the unit's writes back and goes on.

        Raises:
            StorageError | TemporaryError: the commit failed (reported to health).
        """
        block, self._store_batch = self._store_batch, None
        try:
            try:
                if block is not None:
                    block.__exit__(None if exc is None else type(exc), exc, None)
            except BaseException as err:
                self._unwind(err)
                raise
            if exc is not None:
                self._unwind(exc)
                return
        finally:
            queued, self._queue, self._undo = self._queue or [], None, {}
        self._announce(queued)

    def _unwind(self, exc: BaseException) -> None:
        """Forget what the rolled-back unit marked as stored; report a storage failure."""
        for order_id, seen in self._undo.items():
            if seen is None:
                self._seen.pop(order_id, None)
            else:
                self._seen[order_id] = seen
        if isinstance(exc, VibeError):
            self._health.record_error(f"order events not stored: {exc}")

    def _announce(self, queued: list[OrderEvent | Callable[[], object]]) -> None:
        """Run deferred actions and call every subscriber for every event, in order.

        The first exception is raised once everything has run.
        """
        failure: BaseException | None = None
        for item in queued:
            calls: list[Callable[[], object]] = (
                [partial(listener, item) for listener in self._subscribers]
                if isinstance(item, OrderEvent)
                else [item]
            )
            for call in calls:
                try:
                    call()
                except Exception as exc:  # the other committed events must still be heard
                    failure = failure or exc
        if failure is not None:
            raise failure

    # ------------------------------------------------------------------ submitting

    def submit(self, order: Order) -> Order:
        """Store ``order`` as pending, send it, and return it in its new state.

        An order whose ``client_order_id`` is already known is not sent again: the
        known order is returned (and sent first if it is still pending).

        Raises:
            StorageError | TemporaryError: the order could not be stored (not sent).
        """
        known = self._known(order.client_order_id)
        if known is not None and known.status is not OrderStatus.PENDING:
            return known
        if known is None:
            self._persist_new(order)
        else:
            order = known
        with self.unit_of_work():
            return self._exchange.submit(order)

    def submit_bracket(
        self, entry: Order, stop_price: float, take_profit_price: float | None = None
    ) -> tuple[Order, Order | None, Order | None]:
        """Store and send ``entry`` with its stop-loss and take-profit legs.

        Returns:
            ``(entry, stop_loss, take_profit)`` as :meth:`MockExchange.submit_bracket`;
            for an already known entry, its legs as stored.

        Raises:
            StorageError | TemporaryError: the entry could not be stored (not sent).
        """
        known = self._known(entry.client_order_id)
        if known is None:
            self._persist_new(entry)
        elif known.status is not OrderStatus.PENDING:
            return known, *self._legs(known)
        else:
            entry = known
        with self.unit_of_work():
            return self._exchange.submit_bracket(entry, stop_price, take_profit_price)

    def amend(
        self, order_id: str, limit_price: float | None = None, stop_price: float | None = None
    ) -> Order:
        """Change a working order's limit and/or stop price (USD per share).

        Raises:
            OrderRejectedError: ``unknown_order``, ``not_working`` or ``price_not_finite``.
        """
        with self.unit_of_work():
            return self._exchange.amend(order_id, limit_price=limit_price, stop_price=stop_price)

    def cancel(self, order_id: str, reason: str = "cancelled") -> Order:
        """Cancel an order: a pending one here, a working one at the venue.

        A complete order is returned unchanged.

        Raises:
            OrderRejectedError: ``unknown_order``.
        """
        order = self._orders.get(order_id)
        if order is not None and order.status is OrderStatus.PENDING:
            return self.transition(order_id, OrderStatus.CANCELLED, reason)
        with self.unit_of_work():
            return self._exchange.cancel(order_id, reason)

    def transition(self, order_id: str, target: OrderStatus, reason: str | None = None) -> Order:
        """Move a known order to ``target`` here (e.g. cancel a never-sent pending order).

        Persists the change, then announces it (cancelled/rejected/expired events).

        Raises:
            OrderRejectedError: ``unknown_order``.
            InvalidTransitionError: the lifecycle forbids the move; nothing changes.
        """
        order = self._orders.get(order_id)
        if order is None:
            raise OrderRejectedError("unknown_order", f"order_id={order_id!r}")
        now = self._clock.now()
        order.transition(target, now, reason)
        kind = {
            OrderStatus.CANCELLED: OrderEventKind.CANCELLED,
            OrderStatus.REJECTED: OrderEventKind.REJECTED,
            OrderStatus.EXPIRED: OrderEventKind.EXPIRED,
        }.get(target, OrderEventKind.ACCEPTED)
        self.handle_event(OrderEvent(kind, order, now, reason=reason))
        return order

    # ---------------------------------------------------------------------- events

    def handle_event(self, event: OrderEvent) -> None:
        """The venue listener: check the lifecycle, persist, then forward to subscribers.

        Inside a :meth:`unit_of_work` the event is written and queued; otherwise it is
        a unit of its own (committed, then announced, before this returns).

        Raises:
            InvalidTransitionError: the event's order went through a forbidden change.
            StorageError | TemporaryError: the change could not be stored.
        """
        if self._queue is None:
            with self.unit_of_work():
                self.handle_event(event)
            return
        if self._store_batch is None:  # first event of the unit: begin its transaction
            block = self._store.batch()
            block.__enter__()
            self._store_batch = block
        order = event.order
        if order.parent_id is not None and order.client_order_id == order.id:
            self._name_leg(order)
        self._check_lifecycle(order)
        try:
            self._store.upsert_order(order)
        except VibeError as exc:
            self._health.record_error(f"order {order.id} {event.kind.value} not stored: {exc}")
            _log.error("order event not stored", order_id=order.id, kind=event.kind.value)
            raise
        self._mark_seen(order)
        self._track(order)
        self._queue.append(event)
        for booker in self._bookers:
            booker(event)

    def _mark_seen(self, order: Order) -> None:
        if order.id not in self._undo:
            self._undo[order.id] = self._seen.get(order.id)
        self._seen[order.id] = len(order.history)

    def _check_lifecycle(self, order: Order) -> None:
        start = self._seen.get(order.id, 1)
        steps = [status for status, _ in order.history[start - 1 :]]
        legal = bool(steps) and steps[-1] is order.status
        legal = legal and all(can_transition(a, b) for a, b in pairwise(steps))
        if not legal:
            path = " -> ".join(s.value for s in steps) or "(no history)"
            message = (
                f"order {order.id} ({order.symbol}): refused status change {path} -> "
                f"{order.status.value}; allowed from "
                f"{steps[0].value if steps else '?'}: "
                f"{sorted(s.value for s in ORDER_TRANSITIONS[steps[0]]) if steps else []}"
            )
            self._health.record_error(message)
            raise InvalidTransitionError(message)

    def _name_leg(self, order: Order) -> None:
        parent = self._orders.get(order.parent_id or "")
        if parent is not None:
            suffix = "sl" if order.order_type is OrderType.STOP else "tp"
            order.client_order_id = f"{parent.client_order_id}-{suffix}"

    # --------------------------------------------------------------------- start-up

    def recover(self) -> RecoveryReport:
        """Load open orders and positions from the database and reconcile with the venue.

        Call once at start-up, after the venue is connected (for the mock exchange,
        after :func:`seed_mock_exchange`) and before any new order.

        Returns:
            The report; ``mismatches`` lists every difference (also logged and
            reported to health as ``degraded``). Health is set ``healthy`` when none.
        """
        report = RecoveryReport(positions=self._store.open_positions())
        for stored in self._store.open_orders():
            self._recover_order(stored, report)
        self._compare_positions(report)
        for mismatch in report.mismatches:
            _log.warning(
                "store and venue disagree",
                kind=mismatch.kind,
                key=mismatch.key,
                stored=mismatch.stored,
                venue=mismatch.venue,
            )
            self._health.record_error(
                f"reconciliation {mismatch.kind} {mismatch.key}: store {mismatch.stored}, "
                f"venue {mismatch.venue}"
            )
        if report.mismatches:
            self._health.set_state(
                HealthState.DEGRADED,
                f"{len(report.mismatches)} difference(s) between the database and the venue",
            )
        else:
            self._health.set_state(HealthState.HEALTHY, "orders and positions reconciled")
        return report

    def _recover_order(self, stored: Order, report: RecoveryReport) -> None:
        self._seen[stored.id] = len(stored.history)
        if stored.status is OrderStatus.PENDING:
            self._track(stored)
            report.pending.append(stored)
            return
        try:
            venue = self._exchange.order(stored.id)
        except OrderRejectedError:
            self._track(stored)
            report.mismatches.append(
                Mismatch("order_missing_at_venue", stored.id, stored.status.value, "unknown")
            )
            return
        self._track(venue)
        report.working.append(venue)
        stored_view = order_view(stored)
        venue_view = order_view(venue)
        if stored_view != venue_view:
            report.mismatches.append(Mismatch("order_state", stored.id, stored_view, venue_view))

    def _compare_positions(self, report: RecoveryReport) -> None:
        venue = {s: p for s, p in self._exchange.positions.items() if p.quantity != 0}
        for symbol, position in report.positions.items():
            other = venue.get(symbol)
            if other is None:
                report.mismatches.append(
                    Mismatch("position_missing_at_venue", symbol, pos_view(position), "flat")
                )
            elif other.quantity != position.quantity or not math.isclose(
                other.average_price, position.average_price, rel_tol=_PRICE_TOLERANCE
            ):
                report.mismatches.append(
                    Mismatch("position_quantity", symbol, pos_view(position), pos_view(other))
                )
        for symbol in sorted(set(venue) - set(report.positions)):
            report.mismatches.append(
                Mismatch("position_unknown_to_store", symbol, "flat", pos_view(venue[symbol]))
            )

    # ---------------------------------------------------------------------- helpers

    def _persist_new(self, order: Order) -> None:
        if order.status is not OrderStatus.PENDING:
            raise InvalidTransitionError(
                f"order {order.id} is {order.status.value}; only pending orders can be submitted"
            )
        try:
            self._store.upsert_order(order)
            self._store.flush()  # durable before it is sent, also inside a unit of work
        except VibeError as exc:
            self._health.record_error(f"order {order.client_order_id} not stored: {exc}")
            raise
        self._seen[order.id] = len(order.history)
        self._track(order)

    def _track(self, order: Order) -> None:
        self._orders[order.id] = order
        self._by_client[order.client_order_id] = order

    def _known(self, client_id: str) -> Order | None:
        order = self._by_client.get(client_id)
        if order is not None:
            return order
        stored = self._store.get_order_by_client_id(client_id)
        if stored is None:
            return None
        self._seen[stored.id] = len(stored.history)
        self._track(stored)
        return stored

    def _legs(self, entry: Order) -> tuple[Order | None, Order | None]:
        legs = [self._orders.get(o.id) or o for o in self._store.child_orders(entry.id)]
        stop = next((o for o in legs if o.order_type is OrderType.STOP), None)
        target = next((o for o in legs if o.order_type is OrderType.LIMIT), None)
        return stop, target


class OrderUnit:
    """The block of :meth:`OrderManager.unit_of_work` (see there).

    A class rather than a ``@contextmanager`` generator: every bar with working
    orders and every order event enters one (thousands per backtest, most of them
    joining an open unit), and a generator's block costs a few microseconds more
    each time (its ``StopIteration``).
    """

    __slots__ = ("_manager", "_outermost")

    def __init__(self, manager: OrderManager) -> None:
        self._manager = manager
        self._outermost = False

    def __enter__(self) -> None:
        self._outermost = self._manager.begin_unit()

    def __exit__(
        self,
        typ: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._outermost:
            self._manager.end_unit(exc)
