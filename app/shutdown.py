"""Graceful shutdown: drain, close the WebSockets, and always end.

Every step is bounded (`bounded`): a step that overruns — a task that ignores its
cancellation, a driver stuck on a dead server — is abandoned and the shutdown goes on. On
the first signal a watchdog thread starts: if the process is still alive at the grace plus
`WATCHDOG_MARGIN_SECONDS`, it exits at once with status 70, whatever the event loop is doing.
In-flight requests still running at the grace (minus a second) are answered 503 JSON
(SERVICE_UNAVAILABLE, see `Deadlines`) and the process exits non-zero (`meetings serve`).
Before the sockets close, the relay publishes what has committed and the local fan-out
queues drain (bounded), so events committed before the signal reach connected subscribers.

On SIGTERM (or SIGINT) uvicorn stops accepting, lets in-flight HTTP requests finish (up to
`--timeout-graceful-shutdown`), then runs the lifespan shutdown. Left alone it would fail
open WebSockets with 1012 (service restart) before the lifespan shutdown runs, so the app
steps in first: `on_signals` wraps uvicorn's handler, closes every open GraphQL WebSocket
with 1001 (going away; clients reconnect, possibly to another process), waits a moment for
their handlers to end their subscriptions, then hands the signal on to uvicorn (SIGTERM as a
plain graceful stop: the process then exits 0). The lifespan shutdown closes whatever is
still open (another server, or no signal) the same way before the bus stops.
"""

import asyncio
import contextlib
import contextvars
import logging
import os
import signal
import threading
import time
from collections.abc import Awaitable, Callable
from types import FrameType, TracebackType
from typing import Any, Protocol

from starlette.websockets import WebSocket, WebSocketState

from core.db import REQUEST_DEADLINE

log = logging.getLogger("meetings.shutdown")

GOING_AWAY = 1001
CLOSE_TIMEOUT_SECONDS = 5.0
STEP_TIMEOUT_SECONDS = 3.0
WATCHDOG_MARGIN_SECONDS = 8.0
WATCHDOG_EXIT_STATUS = 70
_SIGNALS = (signal.SIGINT, signal.SIGTERM)


async def bounded(step: Awaitable[object], what: str,
                  timeout: float = STEP_TIMEOUT_SECONDS) -> bool:  # noqa: ASYNC109
    """Awaits one shutdown step for at most `timeout`; True when it ended in time. A step
    that overruns (or fails) is logged and abandoned: the shutdown goes on."""
    task = asyncio.ensure_future(step)
    try:
        await asyncio.wait_for(asyncio.shield(task), timeout=timeout)
        return True
    except TimeoutError:
        task.cancel()
        log.warning("shutdown step %r did not end within %.1fs: abandoned", what, timeout)
    except Exception as exc:  # noqa: BLE001 - a failing step must not stop the shutdown
        log.warning("shutdown step %r failed: %r", what, exc)
    return False


class Outcome:
    """What the shutdown saw: `meetings serve` exits non-zero when requests were cut at the
    grace (their clients got 503) or a step had to be abandoned."""

    requests_cut = 0
    steps_abandoned = 0

    @classmethod
    def exit_status(cls) -> int:
        return 3 if cls.requests_cut or cls.steps_abandoned else 0


class Deadlines:
    """The running requests' deadlines (their `asyncio.timeout`s): on shutdown they move to
    the grace minus a second, so that a request still running then is answered 503 JSON by
    the app, not cut by the server."""

    def __init__(self) -> None:
        self.timeouts: set[asyncio.Timeout] = set()
        self.cut_at: float | None = None  # loop time, once shutting down

    def of_request(self, seconds: float) -> "RequestDeadline":
        """`async with deadlines.of_request(s) as timeout:` the request's deadline, `s` from
        now or the shutdown's cut, whichever comes first."""
        when = asyncio.get_running_loop().time() + seconds
        if self.cut_at is not None:
            when = min(when, self.cut_at)
        return RequestDeadline(self, when)

    def shutting_down(self, grace_seconds: float) -> None:
        loop = asyncio.get_running_loop()
        self.cut_at = loop.time() + max(grace_seconds - 1.0, 0.5)
        for timeout in list(self.timeouts):
            when = timeout.when()
            if when is not None and when > self.cut_at:  # None: lifted at COMMIT
                timeout.reschedule(self.cut_at)


class RequestDeadline:
    """One request's `asyncio.timeout`, registered with the Deadlines (so that a shutdown
    can move it) and in REQUEST_DEADLINE (so that COMMIT can lift it). A class rather than a
    generator-based context manager: it is entered on every request."""

    __slots__ = ("deadlines", "timeout", "token")

    def __init__(self, deadlines: Deadlines, when: float) -> None:
        self.deadlines = deadlines
        self.timeout = asyncio.timeout_at(when)
        self.token: contextvars.Token[asyncio.Timeout | None] | None = None

    async def __aenter__(self) -> asyncio.Timeout:
        timeout = await self.timeout.__aenter__()
        self.deadlines.timeouts.add(timeout)
        self.token = REQUEST_DEADLINE.set(timeout)
        return timeout

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        trace: TracebackType | None) -> None:
        if self.token is not None:
            REQUEST_DEADLINE.reset(self.token)
        self.deadlines.timeouts.discard(self.timeout)
        await self.timeout.__aexit__(kind, error, trace)  # raises TimeoutError when it fired


def start_watchdog(grace_seconds: float) -> None:
    """Ends the process at grace + margin whatever happens (once per process)."""
    if getattr(start_watchdog, "started", False):
        return
    start_watchdog.started = True  # type: ignore[attr-defined]
    deadline = grace_seconds + WATCHDOG_MARGIN_SECONDS

    def watch() -> None:
        time.sleep(deadline)
        log.error("shutdown still running %.0fs after the signal: exiting now", deadline)
        logging.shutdown()
        os._exit(WATCHDOG_EXIT_STATUS)

    threading.Thread(target=watch, name="shutdown-watchdog", daemon=True).start()


class Closable(Protocol):
    async def close(self, code: int, reason: str = "") -> None: ...


class WebSockets:
    """The open GraphQL WebSocket connections of one app."""

    def __init__(self) -> None:
        self.open: dict[int, WebSocket | Closable] = {}
        self.closing = False
        self._drained = asyncio.Event()
        self._drained.set()

    def add(self, websocket: WebSocket) -> None:
        self.open[id(websocket.scope)] = websocket
        self._drained.clear()

    def remove(self, scope: Any) -> None:
        self.open.pop(id(scope), None)
        if not self.open:
            self._drained.set()

    def add_connection(self, connection: "Closable") -> None:
        """A connection served without a starlette WebSocket (app/websocket_handlers.py)."""
        self.open[id(connection)] = connection
        self._drained.clear()

    def remove_connection(self, connection: "Closable") -> None:
        self.remove(connection)

    def __len__(self) -> int:
        return len(self.open)

    async def close_all(self, timeout: float = CLOSE_TIMEOUT_SECONDS) -> None:  # noqa: ASYNC109
        """Closes every open connection with 1001 and waits (up to `timeout`) until their
        handlers have ended."""
        self.closing = True
        sockets = list(self.open.values())
        if not sockets:
            return
        log.info("closing %d WebSocket(s): going away", len(sockets))
        await asyncio.wait([asyncio.ensure_future(_close(ws)) for ws in sockets],
                           timeout=timeout)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._drained.wait(), timeout=timeout)


async def _close(websocket: WebSocket | Closable) -> None:
    if not isinstance(websocket, WebSocket):
        with contextlib.suppress(Exception):
            await websocket.close(GOING_AWAY, "server shutting down")
        return
    if (websocket.application_state is WebSocketState.CONNECTED
            and websocket.client_state is WebSocketState.CONNECTED):
        with contextlib.suppress(Exception):
            await websocket.close(code=GOING_AWAY, reason="server shutting down")


def on_signals(websockets: WebSockets, *, grace_seconds: float = 30.0,
               drain: Callable[[], Awaitable[None]] | None = None,
               deadlines: Deadlines | None = None) -> Callable[[], None]:
    """Wraps the current SIGTERM/SIGINT handlers (uvicorn's) so that, on the first signal,
    the watchdog starts, running requests get their shutdown deadline, `drain` runs
    (bounded: the relay's last publish, the fan-out queues) and the WebSockets are closed
    with 1001 — before the server starts its own shutdown. Returns the undo. Does nothing
    off the main thread or when no Python handler is installed."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    loop = asyncio.get_running_loop()
    previous: dict[int, Callable[[int, FrameType | None], Any]] = {}

    def hand_on(signum: int, frame: FrameType | None) -> None:
        then = previous[signum]
        server: Any = getattr(then, "__self__", None)
        if signum == signal.SIGTERM and hasattr(server, "should_exit"):
            # uvicorn's Server: the same graceful stop, without re-raising the signal at
            # the end, so that a shutdown that went well exits 0 rather than -SIGTERM.
            server.should_exit = True
        else:
            then(signum, frame)

    def handler(signum: int, frame: FrameType | None) -> None:
        if websockets.closing or not websockets:
            if not websockets.closing:
                start_watchdog(grace_seconds)
                if deadlines is not None:
                    loop.call_soon_threadsafe(deadlines.shutting_down, grace_seconds)
            websockets.closing = True
            hand_on(signum, frame)
            return

        def closed(_: object) -> None:
            hand_on(signum, None)

        async def drain_and_close() -> None:
            if drain is not None:
                await bounded(drain(), "drain the relay and the fan-out")
            await websockets.close_all()

        def start() -> None:
            if deadlines is not None:
                deadlines.shutting_down(grace_seconds)
            loop.create_task(drain_and_close()).add_done_callback(closed)

        start_watchdog(grace_seconds)
        websockets.closing = True
        loop.call_soon_threadsafe(start)

    for sig in _SIGNALS:
        current = signal.getsignal(sig)
        if callable(current):
            previous[sig] = current
            signal.signal(sig, handler)

    def undo() -> None:
        for sig, original in previous.items():
            if signal.getsignal(sig) is handler:
                signal.signal(sig, original)

    return undo
