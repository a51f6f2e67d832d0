"""consensus.nonce_search: every backend (hashlib, native and each native variant) gives the
same answer as a plain hashlib reference, on random headers and on real Bitcoin headers."""

from __future__ import annotations

import hashlib
import os
import random
import struct
import sys
import threading
import time

import pytest

from consensus.nonce_search import (
    BACKEND_ENV,
    HASHLIB,
    NATIVE,
    PowBackendError,
    available_backends,
    default_backend,
    native_features,
    native_variants,
    resolve_backend,
    search_nonce,
)

BACKENDS = [HASHLIB] + (
    [NATIVE, *(f"{NATIVE}:{variant}" for variant in native_variants())]
    if NATIVE in available_backends()
    else []
)

# Bitcoin mainnet headers (80 bytes), their nonces and their published hashes.
GENESIS = bytes.fromhex(
    "01000000" + "00" * 32 + "3ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a"
    "29ab5f49" + "ffff001d" + "1dac2b7c"
)
GENESIS_HASH = "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f"
GENESIS_NONCE = 2083236893
BLOCK_125552 = bytes.fromhex(
    "01000000"
    "81cd02ab7e569e8bcd9317e2fe99f2de44d49ab2b8851ba4a308000000000000"
    "e320b6c2fffc8d750423db8b1eb942ae710e951ed797f7affc8892b0f1fc122b"
    "c7f5d74d"
    "f2b9441a"
    "42a14695"
)
BLOCK_125552_HASH = "00000000000000001e8d6829a8a21adc5d38d0a473b144b6765798e61f98bd1d"
BLOCK_125552_NONCE = 2504433986


def sha256d(data: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(data).digest()).digest()


def header_hashes(header76: bytes, start: int, count: int) -> list[int]:
    """The reference: each nonce's full 80-byte header hashed from scratch."""
    return [
        int.from_bytes(sha256d(header76 + struct.pack("<I", nonce)), "little")
        for nonce in range(start, start + count)
    ]


def first_meeting(hashes: list[int], target: int) -> int | None:
    return next((i for i, h in enumerate(hashes) if h <= target), None)


def bits_to_target(bits: int) -> int:
    return (bits & 0xFFFFFF) << (8 * ((bits >> 24) - 3))


def test_native_extension_is_built() -> None:
    """setup.py builds the extension wherever there is a compiler; a silent failure to build
    it would make every node mine 20x slower."""
    if os.environ.get("SEEDCHAIN_NO_NATIVE") == "1":
        pytest.skip("native build disabled on purpose")
    assert NATIVE in available_backends(), "consensus._sha256d_native did not build"
    assert default_backend() == NATIVE
    assert native_features() == native_variants()[0]
    assert native_variants()[-1] == "portable"


@pytest.mark.skipif(NATIVE not in available_backends(), reason="native extension not built")
def test_native_search_releases_the_gil() -> None:
    """While a native call runs in another thread, this thread keeps running Python code.

    The switch interval is made huge so a thread holding the GIL is never forced to hand it
    over: this thread then runs during the call only if the call released the GIL (with the
    GIL held it counts exactly 0). ``time.sleep(0)`` hands the GIL back so the searching
    thread can finish."""
    count = 1 << 18 if native_features() == "portable" else 1 << 22
    entered, finished = threading.Event(), threading.Event()

    def search() -> None:
        entered.set()
        search_nonce(bytes(76), 0, 0, count, backend=NATIVE)
        finished.set()

    spins = 0
    previous = sys.getswitchinterval()
    sys.setswitchinterval(100.0)
    try:
        thread = threading.Thread(target=search)
        thread.start()
        entered.wait()
        while not finished.is_set():
            spins += 1
            time.sleep(0)
        thread.join()
    finally:
        sys.setswitchinterval(previous)
    assert spins > 10


def _random_case(rng: random.Random, case: int) -> tuple[bytes, int, int, int, int | None]:
    """A header, target and range, and the expected answer. Cases cycle through: winner first,
    winner last, no winner (target one below the best hash, so only the full 256-bit compare
    rejects it), top 32 bits equal to the best but the rest above, and a random winner."""
    header76 = rng.randbytes(76)
    count = rng.randint(64, 320)
    start = rng.choice([0, rng.randrange(2**32 - count), 2**32 - count, rng.randrange(2**20)])
    hashes = header_hashes(header76, start, count)
    mode = case % 5
    if mode == 0:  # the first nonce wins
        target = hashes[0]
    elif mode == 1:  # the last wins: end the range at the best hash
        best = min(range(count), key=hashes.__getitem__)
        count, hashes = best + 1, hashes[: best + 1]
        target = hashes[-1]
    elif mode == 2:  # nobody wins
        target = min(hashes) - 1
    elif mode == 3:  # same top 32 bits as the best hash, everything below allowed
        target = min(hashes) | ((1 << 224) - 1)
    else:
        target = rng.choice(hashes)
    found = first_meeting(hashes, target)
    return header76, target, start, count, None if found is None else start + found


def test_all_backends_agree_on_10000_random_headers() -> None:
    rng = random.Random(20240603)
    positions = {"first": 0, "last": 0, "none": 0}
    for case in range(10_000):
        header76, target, start, count, expected = _random_case(rng, case)
        if expected is None:
            positions["none"] += 1
        elif expected == start:
            positions["first"] += 1
        elif expected == start + count - 1:
            positions["last"] += 1
        for backend in BACKENDS:
            got = search_nonce(header76, target, start, count, backend=backend)
            assert got == expected, (backend, case, header76.hex(), target, start, count)
    assert min(positions.values()) >= 1500, positions


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_nonce_of_a_long_range_is_checked(backend: str) -> None:
    """An easy target over long ranges, so every SIMD lane and range tail gets a winner."""
    rng = random.Random(7)
    header76 = rng.randbytes(76)
    hashes = header_hashes(header76, 1000, 600)
    for offset in range(0, 40):
        for length in (1, 15, 16, 17, 33):
            window = hashes[offset : offset + length]
            target = min(window)  # the winner is the best hash of the window
            expected = 1000 + offset + window.index(target)
            assert search_nonce(header76, target, 1000 + offset, length, backend=backend) == (
                expected
            )


@pytest.mark.parametrize(
    ("header", "published", "nonce"),
    [
        (GENESIS, GENESIS_HASH, GENESIS_NONCE),
        (BLOCK_125552, BLOCK_125552_HASH, BLOCK_125552_NONCE),
    ],
    ids=["genesis", "block-125552"],
)
@pytest.mark.parametrize("backend", BACKENDS)
def test_bitcoin_mainnet_header(backend: str, header: bytes, published: str, nonce: int) -> None:
    assert sha256d(header)[::-1].hex() == published
    assert struct.unpack_from("<I", header, 76)[0] == nonce
    target = bits_to_target(struct.unpack_from("<I", header, 72)[0])
    header76 = header[:76]
    assert search_nonce(header76, target, nonce - 3000, 4000, backend=backend) == nonce
    assert search_nonce(header76, target, nonce - 3000, 3000, backend=backend) is None
    assert search_nonce(header76, target, nonce, 1, backend=backend) == nonce
    # the exact hash as target still meets it; one below does not
    exact = int.from_bytes(sha256d(header), "little")
    assert search_nonce(header76, exact, nonce, 1, backend=backend) == nonce
    assert search_nonce(header76, exact - 1, nonce, 1, backend=backend) is None


@pytest.mark.parametrize("backend", BACKENDS)
def test_edge_targets_and_ranges(backend: str) -> None:
    header76 = bytes(range(76))
    assert search_nonce(header76, 2**256 - 1, 5, 10, backend=backend) == 5
    assert search_nonce(header76, 2**300, 5, 10, backend=backend) == 5
    assert search_nonce(header76, -1, 0, 1000, backend=backend) is None
    assert search_nonce(header76, 0, 0, 1000, backend=backend) is None
    assert search_nonce(header76, 2**256 - 1, 7, 0, backend=backend) is None
    assert search_nonce(header76, 2**256 - 1, 2**32 - 1, 1, backend=backend) == 2**32 - 1


@pytest.mark.parametrize("backend", BACKENDS)
def test_bad_arguments_raise(backend: str) -> None:
    with pytest.raises(ValueError, match="76 bytes"):
        search_nonce(bytes(75), 0, 0, 1, backend=backend)
    with pytest.raises(ValueError, match="2\\*\\*32"):
        search_nonce(bytes(76), 0, 2**32 - 10, 11, backend=backend)
    with pytest.raises(ValueError, match="2\\*\\*32"):
        search_nonce(bytes(76), 0, -1, 1, backend=backend)


def test_backend_selection() -> None:
    assert resolve_backend(None, {}) == default_backend()
    assert resolve_backend(None, {BACKEND_ENV: "hashlib"}) == HASHLIB
    assert resolve_backend("hashlib", {BACKEND_ENV: "native"}) == HASHLIB  # argument wins
    with pytest.raises(PowBackendError, match="unknown"):
        resolve_backend(None, {BACKEND_ENV: "gpu"})
    with pytest.raises(PowBackendError, match="unknown"):
        search_nonce(bytes(76), 0, 0, 1, backend="openssl")
    if NATIVE in available_backends():
        assert resolve_backend(None, {BACKEND_ENV: "native"}) == NATIVE
        assert resolve_backend("native:portable", {}) == "native:portable"
        with pytest.raises(PowBackendError, match="not available"):
            resolve_backend("native:quantum", {})
    else:
        with pytest.raises(PowBackendError, match="not built"):
            resolve_backend(NATIVE, {})


def test_environment_forces_the_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(BACKEND_ENV, "not-a-backend")
    with pytest.raises(PowBackendError):
        search_nonce(bytes(76), 0, 0, 1)
    monkeypatch.setenv(BACKEND_ENV, "hashlib")
    assert search_nonce(bytes(76), 2**256 - 1, 3, 1) == 3


def test_hashlib_backend_without_the_builtin_sha256(monkeypatch: pytest.MonkeyPatch) -> None:
    """A Python whose hashlib has no builtin SHA-256 module hashes both rounds with OpenSSL's and
    gets the same answers (the mainnet header's nonce, and none one below its hash)."""
    from consensus import nonce_search

    monkeypatch.delattr(hashlib, "__get_builtin_constructor")
    fallback = nonce_search._hasher.__wrapped__()
    assert fallback[0] is hashlib.sha256
    monkeypatch.setattr(nonce_search, "_hasher", lambda: fallback)
    header76 = GENESIS[:76]
    exact = int.from_bytes(sha256d(GENESIS), "little")
    assert search_nonce(header76, exact, GENESIS_NONCE - 5000, 6000, backend=HASHLIB) == (
        GENESIS_NONCE
    )
    assert search_nonce(header76, exact - 1, GENESIS_NONCE - 5000, 6000, backend=HASHLIB) is None
    rng = random.Random(5)
    for case in range(200):
        header76, target, start, count, expected = _random_case(rng, case)
        assert search_nonce(header76, target, start, count, backend=HASHLIB) == expected


def test_hashlib_backend_picks_its_sha256_by_interpreter() -> None:
    """Python 3.11's builtin SHA-256 where hashlib has it; OpenSSL's from 3.12 on (HACL*)."""
    from consensus import nonce_search

    assert nonce_search._choose_hasher((3, 12))[0] is hashlib.sha256
    assert nonce_search._choose_hasher((3, 13))[0] is hashlib.sha256
    builtin = nonce_search._choose_hasher((3, 11))
    if hasattr(hashlib, "__get_builtin_constructor"):
        assert builtin[0] is not hashlib.sha256
    assert builtin[1](builtin[0](b"abc")) == hashlib.sha256(b"abc").digest()
