"""Canonical msgpack: strict decoding with hard limits, and typed field readers.

May import msgpack and the standard library. Every decoder here sets msgpack's unpacker limits
(no maps, no ext types, bounded bin and array lengths) and checks that the object re-encodes to
exactly the bytes it came from, so each value has exactly one encoding.
"""

from __future__ import annotations

from typing import Any

import msgpack

from consensus.errors import DecodeError, NonCanonicalEncoding

U32_MAX = 0xFFFF_FFFF
U63_MAX = (1 << 63) - 1

_packer = msgpack.Packer(use_bin_type=True, autoreset=True)


def pack(obj: Any) -> bytes:
    """Encode ``obj`` (nested lists/tuples of ints and bytes) canonically."""
    return msgpack.packb(obj, use_bin_type=True)  # type: ignore[no-any-return]


def unpack_limited(
    data: bytes, *, max_bin_len: int, max_array_len: int, max_str_len: int = 0
) -> Any:
    """Decode one msgpack object with limits; any failure is a :class:`DecodeError`.

    Maps and extension types are refused outright; strings only up to ``max_str_len``.
    Trailing bytes are an error. Canonical form is not checked here (see :func:`unpack_canonical`).
    """
    try:
        return msgpack.unpackb(
            data,
            raw=False,
            use_list=True,
            strict_map_key=True,
            max_bin_len=max_bin_len,
            max_array_len=max_array_len,
            max_str_len=max_str_len,
            max_map_len=0,
            max_ext_len=0,
        )
    except (ValueError, TypeError, msgpack.UnpackException, RecursionError) as exc:
        raise DecodeError(f"malformed msgpack: {exc.__class__.__name__}: {exc}") from None


def unpack_canonical(data: bytes, *, max_bin_len: int, max_array_len: int) -> Any:
    """Decode with limits and require that the object re-encodes to exactly ``data``."""
    obj = unpack_limited(data, max_bin_len=max_bin_len, max_array_len=max_array_len)
    if pack(obj) != data:
        raise NonCanonicalEncoding("encoding is not canonical msgpack")
    return obj


# --- sizes of canonical encodings, without encoding (fee and size estimates) ----------------
def uint_size(value: int) -> int:
    """Bytes msgpack uses for a non-negative integer."""
    if value < 0:
        raise ValueError("negative integers have no canonical place in a transaction")
    if value < 0x80:
        return 1
    if value <= 0xFF:
        return 2
    if value <= 0xFFFF:
        return 3
    if value <= 0xFFFF_FFFF:
        return 5
    return 9


def bin_size(length: int) -> int:
    """Bytes msgpack uses for a byte string of ``length`` bytes, header included."""
    if length <= 0xFF:
        return 2 + length
    if length <= 0xFFFF:
        return 3 + length
    return 5 + length


def array_header_size(count: int) -> int:
    """Bytes of a msgpack array's header for ``count`` items."""
    if count <= 15:
        return 1
    if count <= 0xFFFF:
        return 3
    return 5


# --- typed field readers: raise DecodeError with the field's name --------------------------
def read_int(value: Any, name: str, maximum: int) -> int:
    if type(value) is not int:  # bool is a subclass of int: refuse it too
        raise DecodeError(f"{name}: expected an integer, got {type(value).__name__}")
    if not 0 <= value <= maximum:
        raise DecodeError(f"{name}: {value} out of range 0..{maximum}")
    return value


def read_bytes(
    value: Any, name: str, *, exact: int | None = None, maximum: int | None = None
) -> bytes:
    if type(value) is not bytes:
        raise DecodeError(f"{name}: expected bytes, got {type(value).__name__}")
    if exact is not None and len(value) != exact:
        raise DecodeError(f"{name}: expected {exact} bytes, got {len(value)}")
    if maximum is not None and len(value) > maximum:
        raise DecodeError(f"{name}: {len(value)} bytes is over the limit of {maximum}")
    return value


def read_list(
    value: Any, name: str, *, exact: int | None = None, maximum: int | None = None
) -> list[Any]:
    if type(value) is not list:
        raise DecodeError(f"{name}: expected an array, got {type(value).__name__}")
    if exact is not None and len(value) != exact:
        raise DecodeError(f"{name}: expected {exact} fields, got {len(value)}")
    if maximum is not None and len(value) > maximum:
        raise DecodeError(f"{name}: {len(value)} items is over the limit of {maximum}")
    return value
