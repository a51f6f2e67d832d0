"""Proof-of-work nonce search: the first nonce of a range whose header hash meets a target.

``search_nonce(header76, target, start, count)`` appends each nonce of ``[start, start +
count)`` to the 76-byte header prefix as a u32 little-endian (header bytes 76..80, see
docs/protocol.md) and returns the first whose ``sha256d``, read as
``int.from_bytes(hash, "little")``, is ``<= target``; ``None`` if there is none.

Backends, with identical answers (tests/unit/consensus/test_nonce_search.py checks it):

* ``native`` — the C extension ``consensus._sha256d_native`` (sources in
  ``consensus/_native/``, built by setup.py when a C compiler is present). It picks the fastest
  variant this CPU runs (``native_variants()``, fastest first: ``avx512-16way``,
  ``sha-ni-4way``, ``portable``), computes the midstate of the first 64 bytes once per call and
  releases the GIL for the whole scan. ``native:<variant>`` forces one variant.
* ``hashlib`` — pure Python, always available: the midstate is computed once with
  ``hashlib.sha256().update(first64)`` and ``.copy()``-ed per nonce; the per-nonce calls are
  chained with ``map`` so no Python bytecode runs per nonce.

Which backend: the ``backend`` argument, else the ``SEEDCHAIN_POW_BACKEND`` environment
variable (``native`` / ``hashlib`` / ``native:<variant>``), else ``default_backend()``
(native when it imported). The environment is read only in :func:`resolve_backend`, through
its explicit ``environ`` argument; callers that run many searches (the miner) resolve once and
pass the result. Forcing an unavailable backend raises :class:`PowBackendError`.

May import the standard library and the C extension only: like all of ``consensus`` it is
pure (no threads, logging, asyncio, clock or randomness).
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
from collections.abc import Callable, Mapping
from itertools import repeat
from types import ModuleType
from typing import Any

_native: ModuleType | None
try:
    from consensus import _sha256d_native as _native
except ImportError:  # not built (no compiler, or SEEDCHAIN_NO_NATIVE=1): hashlib only
    _native = None

__all__ = [
    "BACKEND_ENV",
    "HASHLIB",
    "NATIVE",
    "NONCE_SPACE",
    "PowBackendError",
    "available_backends",
    "default_backend",
    "native_features",
    "native_variants",
    "resolve_backend",
    "search_nonce",
]

BACKEND_ENV = "SEEDCHAIN_POW_BACKEND"
NATIVE = "native"
HASHLIB = "hashlib"
NONCE_SPACE = 2**32
HEADER76_SIZE = 76
MAX_HASH = 2**256 - 1

# The hashlib backend hashes this many nonces per batch of chained ``map`` calls (a multiple of
# 256; 2,048 and more run slower here: the batch's objects no longer stay in the CPU's cache).
_HASHLIB_BATCH = 1024
_HASH_TYPE = type(hashlib.sha256())
_FIRST_BYTES = [bytes((value,)) for value in range(256)]


class PowBackendError(ValueError):
    """An unknown proof-of-work backend, or one this installation cannot run."""


def native_variants() -> list[str]:
    """The native variants this CPU can run, fastest first; empty if the extension is absent."""
    return list(_native.variants()) if _native is not None else []


def available_backends() -> list[str]:
    """``["native", "hashlib"]``, or ``["hashlib"]`` when the C extension was not built."""
    return [NATIVE, HASHLIB] if _native is not None else [HASHLIB]


def default_backend() -> str:
    """The backend used when none is asked for: native if it imported, else hashlib."""
    return NATIVE if _native is not None else HASHLIB


def native_features() -> str:
    """The variant ``native`` runs on this CPU (e.g. ``"sha-ni-4way"``), or ``"unavailable"``."""
    variants = native_variants()
    return variants[0] if variants else "unavailable"


def resolve_backend(backend: str | None = None, environ: Mapping[str, str] = os.environ) -> str:
    """Turn a requested backend (or, if None, ``environ[SEEDCHAIN_POW_BACKEND]``, or else the
    default) into a checked backend name: ``hashlib``, ``native`` or ``native:<variant>``."""
    requested = backend if backend is not None else environ.get(BACKEND_ENV, "").strip()
    if not requested:
        return default_backend()
    name, _, variant = requested.partition(":")
    if name == HASHLIB and not variant:
        return HASHLIB
    if name != NATIVE:
        raise PowBackendError(
            f"unknown proof-of-work backend {requested!r}; use 'native', 'hashlib' or "
            f"'native:<variant>'"
        )
    if _native is None:
        raise PowBackendError(
            f"proof-of-work backend {requested!r} asked for, but the native extension "
            "consensus._sha256d_native is not built (reinstall with a C compiler)"
        )
    if variant and variant not in native_variants():
        raise PowBackendError(
            f"native variant {variant!r} is not available here; this CPU runs "
            f"{', '.join(native_variants())}"
        )
    return requested


def search_nonce(
    header76: bytes, target: int, start: int, count: int, *, backend: str | None = None
) -> int | None:
    """The first nonce in ``[start, start + count)`` whose header hash is ``<= target``.

    ``header76`` is the 80-byte header without its nonce. Raises ``ValueError`` if it is not 76
    bytes or the range leaves ``[0, 2**32)``; :class:`PowBackendError` for a bad ``backend``.
    """
    if len(header76) != HEADER76_SIZE:
        raise ValueError(f"header76 must be {HEADER76_SIZE} bytes, got {len(header76)}")
    if start < 0 or count < 0 or start + count > NONCE_SPACE:
        raise ValueError(f"nonce range [{start}, {start} + {count}) must lie within [0, 2**32)")
    resolved = resolve_backend(backend)
    if count == 0 or target < 0:
        return None
    if target >= MAX_HASH:
        return start
    if resolved == HASHLIB:
        return _search_hashlib(bytes(header76), target, start, count)
    if _native is None:  # resolve_backend already refused; this narrows the type
        raise PowBackendError("native backend unavailable")
    variant = resolved.partition(":")[2] or None
    result: int | None = _native.search(
        bytes(header76), target.to_bytes(32, "little"), start, count, variant
    )
    return result


def _search_hashlib(header76: bytes, target: int, start: int, count: int) -> int | None:
    """Pure-Python backend: midstates once, then per batch of nonces a chain of C-level ``map``
    calls (copy a midstate, append the nonce's last bytes, digest, hash again), and a regex scan
    of the digests' most significant bytes to find candidates for the exact comparison.

    The nonce's first byte (header byte 76) goes into 256 midstates made once per call, so per
    nonce only a copy of the right one and the three higher bytes, the same ``bytes`` for 256
    nonces, are needed: nothing is packed per nonce. The second hash (a 32-byte message) uses
    hashlib's builtin SHA-256, whose object costs less to make and free than OpenSSL's; the first
    keeps OpenSSL's cheaper ``digest``.
    """
    base = hashlib.sha256(header76[:64])
    base.update(header76[64:])  # 12 bytes: only buffered, still the 64-byte midstate
    copy, update, digest = _HASH_TYPE.copy, _HASH_TYPE.update, _HASH_TYPE.digest
    midstates = list(map(copy, repeat(base, 256)))
    any(map(update, midstates, _FIRST_BYTES))  # 13 bytes buffered, one per nonce low byte
    second, second_digest = _second_hash()
    top_byte = target >> 248
    # A digest whose most significant byte (byte 31) exceeds the target's cannot meet it.
    candidate = re.compile(b"[\\x00-\\x%02x]" % top_byte)
    end = start + count
    batch_start = start
    while batch_start < end:
        batch_end = min(end, (batch_start // _HASHLIB_BATCH + 1) * _HASHLIB_BATCH)
        sources: list[Any] = []
        suffixes: list[bytes] = []
        group = batch_start
        while group < batch_end:  # runs of nonces sharing their three higher bytes
            group_end = min(batch_end, (group | 0xFF) + 1)
            low = group & 0xFF
            sources += midstates[low : low + group_end - group]
            suffixes += [(group >> 8).to_bytes(3, "little")] * (group_end - group)
            group = group_end
        contexts = list(map(copy, sources))
        any(map(update, contexts, suffixes))
        digests = b"".join(map(second_digest, map(second, map(digest, contexts))))
        del contexts
        top_bytes = digests[31::32]
        match = candidate.search(top_bytes)
        while match is not None:
            index = match.start()
            if int.from_bytes(digests[32 * index : 32 * index + 32], "little") <= target:
                return batch_start + index
            match = candidate.search(top_bytes, index + 1)
        batch_start = batch_end
    return None


@functools.cache
def _second_hash() -> tuple[Callable[[bytes], Any], Callable[[Any], bytes]]:
    """SHA-256 for the 32-byte second message: hashlib's builtin one where it has it."""
    constructor: Callable[[bytes], Any]
    try:
        constructor = getattr(hashlib, "__get_builtin_constructor")("sha256")
    except (AttributeError, ValueError, ImportError):  # a Python without the builtin module
        constructor = hashlib.sha256
    return constructor, type(constructor(b"")).digest
