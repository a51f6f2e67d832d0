"""``cached_property`` without a lock: computed on first access and stored in the instance's
``__dict__``, where later accesses find it without calling the descriptor again.

Python 3.11's ``functools.cached_property`` takes a lock on every first access (3.12 dropped
it); transactions and blocks compute several such values each (txid, encoding, hash), and that
lock cost more than the hashing behind them. Consensus objects are built and read on one
thread at a time; a race would only compute the same pure value twice. May import stdlib only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar, overload

T = TypeVar("T")


class cached_property(Generic[T]):
    def __init__(self, func: Callable[[Any], T]) -> None:
        self.func = func
        self.attrname = func.__name__
        self.__doc__ = func.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.attrname = name

    @overload
    def __get__(self, instance: None, owner: type | None = None) -> cached_property[T]: ...

    @overload
    def __get__(self, instance: object, owner: type | None = None) -> T: ...

    def __get__(self, instance: object, owner: type | None = None) -> T | cached_property[T]:
        if instance is None:
            return self
        value = self.func(instance)
        instance.__dict__[self.attrname] = value
        return value
