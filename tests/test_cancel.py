"""server.cancel: tasks cancelled for certain, even when one cancellation is lost."""

from __future__ import annotations

import asyncio

from server.cancel import cancel_and_wait


def test_a_task_that_loses_a_cancellation_is_cancelled_again_until_it_ends() -> None:
    """As Python 3.11's ``wait_for`` may (a result arriving in the cancellation's turn): the first
    cancellation is swallowed and the task waits again; the second one ends it."""

    async def scenario() -> None:
        lost = 0

        async def loses_one() -> None:
            nonlocal lost
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                lost += 1
            await asyncio.Event().wait()

        task = asyncio.create_task(loses_one())
        plain = asyncio.create_task(asyncio.Event().wait())
        await asyncio.sleep(0)
        await asyncio.wait_for(cancel_and_wait([task, plain]), 5)
        assert task.cancelled() and plain.cancelled() and lost == 1

    asyncio.run(scenario())


def test_a_task_that_failed_is_waited_for_and_its_exception_not_raised() -> None:
    async def scenario() -> None:
        async def fails() -> None:
            raise RuntimeError("boom")

        task = asyncio.create_task(fails())
        await asyncio.sleep(0)
        await cancel_and_wait([task])
        assert task.done() and isinstance(task.exception(), RuntimeError)

    asyncio.run(scenario())
