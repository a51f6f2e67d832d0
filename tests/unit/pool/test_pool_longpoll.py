"""The pool long-polls a real node's template (BIP 22): a new block reaches the pool's jobs,
with tip polling and template refreshes set to ten minutes, so that nothing else could within
the test's deadline."""

from __future__ import annotations

from pathlib import Path

from pool_testkit import pool_config, running_pool

from pool.nodeclient import HttpNodeClient
from tests.framework.util import wait_until
from tests.unit.node.test_api_support import live_api


async def test_a_new_block_reaches_the_pool_through_the_long_poll(tmp_path: Path) -> None:
    async with live_api(tmp_path / "node") as api:
        await api.generate(5)
        url = api.server.url
        config = pool_config(
            tmp_path / "pool", node_url=url, tip_poll_interval=600.0, template_interval=600.0
        )
        async with running_pool(config, HttpNodeClient(url)) as pool:
            first = pool.jobs.template
            assert first is not None and first.longpollid is not None
            assert first.longpollid.startswith(first.previous_hash_hex)
            for _ in range(2):  # two blocks in a row: the long poll goes on after each
                [block] = await api.generate(1)

                def on_new_tip(block: str = block) -> bool:
                    template = pool.jobs.template
                    return template is not None and template.previous_hash_hex == block

                await wait_until(on_new_tip, 60, message="the pool's job on the new block")
