"""uvicorn's WebSocket protocol with permessage-deflate that costs nothing while idle.

Browsers always offer permessage-deflate. uvicorn's default (websockets' sans-I/O protocol,
12-bit windows, memLevel 5) keeps a zlib compressor and decompressor alive for the whole
life of every connection: ~41 KiB of RSS per idle connection, measured with 1,000
browser-like clients (98 KiB with deflate, 57 KiB without; bench/live_connections.py).
Live connections mostly sit idle and then carry a small JSON frame now and then, so this
protocol negotiates `server_no_context_takeover` and `client_no_context_takeover`: each
message is compressed (and inflated) on its own, with a zlib stream created for it and
dropped after it — an idle connection holds none. Small messages compress a little worse
without the shared window; the frames here are a few hundred bytes.

Selected with `uvicorn --ws app.websocket_protocol:LeanWebSocketProtocol` (Dockerfile,
compose.yaml, `meetings serve`, the benchmarks).
"""

import logging
from collections import OrderedDict
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.datastructures import Headers
from websockets.extensions.permessage_deflate import (
    PerMessageDeflate,
    ServerPerMessageDeflateFactory,
)
from websockets.frames import Frame, Opcode
from websockets.server import ServerProtocol

from core.mailbox import Flag, Mailbox


class SharedDeflate(PerMessageDeflate):
    """Without context takeover each message is compressed on its own, so one text with the
    same parameters compresses to the same bytes on every socket: a frame broadcast to many
    subscribers under the same operation id (app/live_streams.py) is compressed once. The
    last few compressed frames are kept, keyed by their text and the window size."""

    def encode(self, frame: Frame) -> Frame:
        if (frame.opcode is not Opcode.TEXT or not frame.fin
                or not self.local_no_context_takeover or not isinstance(frame.data, bytes)):
            return super().encode(frame)
        key = (frame.data, self.local_max_window_bits)
        data = _compressed.get(key)
        if data is None:
            data = super().encode(frame).data
            _compressed[key] = data
            while len(_compressed) > COMPRESSED_KEPT:
                _compressed.popitem(last=False)
        return Frame(frame.opcode, data, frame.fin, True, frame.rsv2, frame.rsv3)


COMPRESSED_KEPT = 32
_compressed: OrderedDict[tuple[bytes, int], bytes | bytearray | memoryview] = OrderedDict()


class _SharedDeflateFactory(ServerPerMessageDeflateFactory):
    def process_request_params(self, params: Any, accepted_extensions: Any
                               ) -> tuple[list[Any], PerMessageDeflate]:
        response, made = super().process_request_params(params, accepted_extensions)
        return response, SharedDeflate(
            made.remote_no_context_takeover, made.local_no_context_takeover,
            made.remote_max_window_bits, made.local_max_window_bits, made.compress_settings)


def deflate_per_message() -> ServerPerMessageDeflateFactory:
    return _SharedDeflateFactory(
        server_no_context_takeover=True,
        client_no_context_takeover=True,
        server_max_window_bits=12,
        client_max_window_bits=12,
        compress_settings={"memLevel": 5},
    )


class LeanWebSocketProtocol(WebSocketsSansIOProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        extensions = [deflate_per_message()] if self.config.ws_per_message_deflate else []
        self.conn = ServerProtocol(
            extensions=extensions,
            max_size=self.config.ws_max_size,
            logger=logging.getLogger("uvicorn.error"),
        )
        # What uvicorn makes per connection, without the asyncio.Queue and Event that
        # cost ~2.5 KiB before the first message (core/mailbox.py).
        self.queue = Mailbox()  # type: ignore[assignment]
        self.writable = Flag(True)  # type: ignore[assignment]

    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        scope = getattr(self, "scope", None)
        if scope is not None:
            scope["extensions"][WRITABLE] = self.writable

    async def send(self, message: Any) -> None:
        await super().send(message)
        # uvicorn keeps the handshake's request and response (their headers) for the
        # connection's life, and so does websockets' parser (a local of its generator);
        # they are only read while accepting.
        if self.handshake_complete and hasattr(self, "request"):
            self.request.headers = _NO_HEADERS
            del self.request
        if self.handshake_complete and hasattr(self, "response"):
            del self.response


_NO_HEADERS = Headers()
WRITABLE = "meetings.writable"  # scope extension: the Flag set while the socket takes more
UVICORN_WS = "app.websocket_protocol:LeanWebSocketProtocol"
