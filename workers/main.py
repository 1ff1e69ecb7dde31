"""`meetings worker`: the Dramatiq actors and the periodic sweeps.

With REDIS_URL: a Dramatiq worker (its AsyncIO event loop thread, Tortoise opened on it when
the worker boots) consumes the actors' queue, and the sweeps run on that same loop, relaying
conference jobs to the queue. Without: the sweeps run here and do all the work in-process.
Stops on SIGINT / SIGTERM.
"""

import asyncio
import logging
import signal
import threading

from core import db
from core.metrics import start_worker_metrics
from core.observability import configure_logging
from core.settings import get_settings
from workers import broker as brokers
from workers.sweeps import sweep_forever

log = logging.getLogger(__name__)


def _stop_on_signals(stop: threading.Event) -> None:
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())


def run_worker(threads: int = 4) -> None:
    settings = get_settings()
    configure_logging(settings.log_renderer, settings.log_level)
    start_worker_metrics(settings.metrics_port)
    stopping = threading.Event()
    _stop_on_signals(stopping)
    broker = brokers.get_broker(settings)
    if broker is None:
        async def embedded() -> None:
            await db.init_db(settings.database_url)
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            watcher = loop.run_in_executor(None, stopping.wait)
            watcher.add_done_callback(lambda _: stop.set())
            try:
                await sweep_forever(stop, settings.worker_interval_seconds, in_process=True)
            finally:
                await db.close_db()

        log.info("worker: no REDIS_URL, running the sweeps in-process")
        asyncio.run(embedded())
        return

    import dramatiq
    from dramatiq.asyncio import get_event_loop_thread

    worker = dramatiq.Worker(broker, worker_threads=threads)
    worker.start()  # boots the event loop thread and opens the ORM on it
    loop_thread = get_event_loop_thread()
    assert loop_thread is not None
    stop_holder: dict[str, asyncio.Event] = {}

    async def sweeps() -> None:
        stop_holder["stop"] = stop = asyncio.Event()
        await sweep_forever(stop, settings.worker_interval_seconds, in_process=False)

    future = asyncio.run_coroutine_threadsafe(sweeps(), loop_thread.loop)
    log.info("worker: consuming %s on %s", brokers.QUEUE, settings.redis_url)
    try:
        stopping.wait()
    finally:
        stop = stop_holder.get("stop")
        if stop is not None:
            loop_thread.loop.call_soon_threadsafe(stop.set)
        try:
            future.result(timeout=60)
        except Exception:
            log.exception("sweeps ended with an error")
        worker.stop()
        broker.close()
