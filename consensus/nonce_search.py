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
* ``hashlib`` — pure Python, always available: the midstate is computed once with a hashlib
  SHA-256 object (the builtin one on Python 3.11, OpenSSL's otherwise) and ``.copy()``-ed per
  nonce; the per-nonce calls are chained with ``map`` so no Python bytecode runs per nonce.

Which backend: the ``backend`` argument, else the ``SEEDCHAIN_POW_BACKEND`` environment
variable (``native`` / ``hashlib`` / ``native:<variant>``), else ``default_backend()``
(native when it imported). The environment is read only in :func:`resolve_backend`, through
its explicit ``environ`` argument; callers that run many searches (the miner) resolve once and
pass the result. Forcing an unavailable backend raises :class:`PowBackendError`.

May import the standard library and the C extension only: like all of ``consensus`` it is
pure (no threads, logging, asyncio, clock or randomness).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import re
import sys
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
    """Pure-Python backend: midstates once, then per run of 256 nonces a chain of C-level
    ``map`` calls (copy a midstate, append the nonce's last bytes, digest, hash again), and a
    regex scan of the digests' most significant bytes to find candidates for the exact
    comparison.

    The nonce's first byte (header byte 76) goes into 256 midstates made once per call, so per
    nonce only a copy of the right one and the three higher bytes, the same ``bytes`` for the
    whole run, are needed: nothing is packed per nonce.

    On Python 3.11 both hashes use hashlib's builtin SHA-256 (see :func:`_choose_hasher`): its
    objects live in Python's own allocator. OpenSSL's compress faster, but each copy and
    digest ``malloc``-s two contexts, and with a run's contexts alive at once glibc's
    per-thread cache overflows into its slow paths; together that costs more than the builtin
    compression (docs/pow-engine.md has the measurements). A run is one batch: at 256 objects
    alive, the cyclic garbage collector (700 new objects) is not set off by the batch itself.
    """
    hasher, hasher_digest = _hasher()
    base = hasher(header76[:64])
    base.update(header76[64:])  # 12 bytes: only buffered, still the 64-byte midstate
    kind = type(base)
    copy, update, digest = kind.copy, kind.update, kind.digest
    midstates = list(map(copy, repeat(base, 256)))
    any(map(update, midstates, _FIRST_BYTES))  # 13 bytes buffered, one per nonce low byte
    top_byte = target >> 248
    # A digest whose most significant byte (byte 31) exceeds the target's cannot meet it.
    candidate = re.compile(b"[\\x00-\\x%02x]" % top_byte)
    end = start + count
    run = start
    while run < end:  # runs of nonces sharing their three higher bytes
        run_end = min(end, (run | 0xFF) + 1)
        low = run & 0xFF
        sources = midstates if run_end - run == 256 else midstates[low : low + run_end - run]
        contexts = list(map(copy, sources))
        any(map(update, contexts, repeat((run >> 8).to_bytes(3, "little"))))
        digests = b"".join(map(hasher_digest, map(hasher, map(digest, contexts))))
        del contexts
        top_bytes = digests[31::32]
        match = candidate.search(top_bytes)
        while match is not None:
            index = match.start()
            if int.from_bytes(digests[32 * index : 32 * index + 32], "little") <= target:
                return run + index
            match = candidate.search(top_bytes, index + 1)
        run = run_end
    return None


_Hasher = tuple[Callable[[bytes], Any], Callable[[Any], bytes]]


@functools.cache
def _hasher() -> _Hasher:
    """The hashlib backend's SHA-256 constructor and its ``digest`` on this interpreter."""
    return _choose_hasher(sys.version_info[:2])


def _choose_hasher(version: tuple[int, int]) -> _Hasher:
    """Python 3.11's builtin SHA-256 (a plain C object in Python's own allocator) where it is
    there; OpenSSL's otherwise, and from 3.12 on, whose builtin SHA-256 (HACL*) allocates its
    state with ``malloc`` on every copy and runs about 10% slower here than OpenSSL's."""
    constructor: Callable[[bytes], Any] = hashlib.sha256
    if version < (3, 12):
        # A Python built without the builtin module keeps OpenSSL's.
        with contextlib.suppress(AttributeError, ValueError, ImportError):
            constructor = getattr(hashlib, "__get_builtin_constructor")("sha256")
    return constructor, type(constructor(b"")).digest
