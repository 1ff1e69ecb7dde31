"""Graceful shutdown of the GraphQL WebSockets.

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
import logging
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

from starlette.websockets import WebSocket, WebSocketState

log = logging.getLogger("meetings.shutdown")

GOING_AWAY = 1001
CLOSE_TIMEOUT_SECONDS = 5.0
_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class WebSockets:
    """The open GraphQL WebSocket connections of one app."""

    def __init__(self) -> None:
        self.open: dict[int, WebSocket] = {}
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


async def _close(websocket: WebSocket) -> None:
    if (websocket.application_state is WebSocketState.CONNECTED
            and websocket.client_state is WebSocketState.CONNECTED):
        with contextlib.suppress(Exception):
            await websocket.close(code=GOING_AWAY, reason="server shutting down")


def on_signals(websockets: WebSockets) -> Callable[[], None]:
    """Wraps the current SIGTERM/SIGINT handlers (uvicorn's) so that the WebSockets are
    closed with 1001 before the server starts its own shutdown. Returns the undo. Does
    nothing off the main thread or when no Python handler is installed."""
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
            websockets.closing = True
            hand_on(signum, frame)
            return

        def closed(_: object) -> None:
            hand_on(signum, None)

        def start() -> None:
            loop.create_task(websockets.close_all()).add_done_callback(closed)

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
