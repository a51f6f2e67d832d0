"""Frames: one binary WebSocket frame is one message, the msgpack array ``[command, payload]``.

May import ``consensus`` (encoding), msgpack and the standard library.

The frame size limit is enforced twice: by aiohttp's WebSocket reader from the frame header,
before any payload byte is buffered (``WS_MAX_MSG_SIZE`` is passed as ``max_msg_size`` on both
the server and the client side), and again here on the bytes handed to ``decode_frame``.
"""

from __future__ import annotations

from typing import Any

import msgpack

from consensus.encoding import unpack_limited
from consensus.errors import DecodeError
from consensus.params import ChainParams
from p2p.errors import FrameTooLarge, MalformedMessage, UnknownCommand
from p2p.messages import MAX_INV_ITEMS, MESSAGE_TYPES, Message

MAX_FRAME = 4 * 1024 * 1024
# aiohttp refuses a data frame whose length is >= max_msg_size, so a frame of exactly
# MAX_FRAME bytes needs one more.
WS_MAX_MSG_SIZE = MAX_FRAME + 1
MAX_COMMAND_LENGTH = 12
# Unpacker limits: the longest array in any message (inv), and the longest string in bytes
# (a 300-character address or 256-character user agent, up to 4 bytes per character in UTF-8).
MAX_ARRAY_LENGTH = MAX_INV_ITEMS
MAX_STRING_BYTES = 1_200


def encode_frame(message: Message) -> bytes:
    """The frame carrying ``message``; ``FrameTooLarge`` if it would exceed ``MAX_FRAME``."""
    frame: bytes = msgpack.packb([message.command, message.to_payload()], use_bin_type=True)
    if len(frame) > MAX_FRAME:
        raise FrameTooLarge(f"{message.command} frame of {len(frame)} bytes is over {MAX_FRAME}")
    return frame


def decode_frame(data: bytes, params: ChainParams) -> Message:
    """Strictly decode one frame. Raises ``FrameTooLarge``, ``UnknownCommand`` or
    ``MalformedMessage`` (maps, ext types, trailing bytes, wrong types, over-long lists...)."""
    if len(data) > MAX_FRAME:
        raise FrameTooLarge(f"frame of {len(data)} bytes is over {MAX_FRAME}")
    try:
        obj: Any = unpack_limited(
            data,
            max_bin_len=MAX_FRAME,
            max_array_len=MAX_ARRAY_LENGTH,
            max_str_len=MAX_STRING_BYTES,
        )
    except DecodeError as exc:
        raise MalformedMessage(str(exc)) from None
    if type(obj) is not list or len(obj) != 2:
        raise MalformedMessage("a frame is the array [command, payload]")
    command, payload = obj
    if type(command) is not str or not 0 < len(command) <= MAX_COMMAND_LENGTH:
        raise MalformedMessage("command: expected a string of 1 to 12 characters")
    message_type = MESSAGE_TYPES.get(command)
    if message_type is None:
        raise UnknownCommand(f"unknown command {command!r}")
    return message_type.from_payload(payload, params)

