"""GET a JSON document over HTTP for the read-only commands (``audit``, ``status``): a size
limit, typed one-line errors, optional 404.

May import the standard library, aiohttp (lazily) and ``seedchain.cli``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from seedchain.cli import CommandError

if TYPE_CHECKING:
    import aiohttp

MAX_RESPONSE = 16 * 1024 * 1024


async def get_json(
    session: aiohttp.ClientSession,
    url: str,
    *,
    missing_ok: bool = False,
    accept: frozenset[int] = frozenset({200}),
) -> Any:
    """The JSON ``url`` answers; None for a 404 when ``missing_ok`` or a status in ``accept``
    other than 200. :class:`CommandError` for an unreachable server, another status, a body
    over ``MAX_RESPONSE`` bytes or one that is not JSON."""
    import aiohttp

    try:
        async with session.get(url) as response:
            body = await response.content.read(MAX_RESPONSE + 1)
            status = response.status
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise CommandError(f"cannot reach {url}: {exc or type(exc).__name__}") from None
    if (status == 404 and missing_ok) or (status != 200 and status in accept):
        return None
    if status != 200:
        raise CommandError(f"{url} answered {status}")
    if len(body) > MAX_RESPONSE:
        raise CommandError(f"{url} answered more than {MAX_RESPONSE} bytes")
    try:
        return json.loads(body)
    except ValueError:
        raise CommandError(f"{url} did not answer JSON") from None
