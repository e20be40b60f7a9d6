"""server.inbox: the unbounded FIFO the per-frame path uses instead of asyncio.Queue."""

from __future__ import annotations

import asyncio

import pytest

from server.inbox import Inbox

pytestmark = pytest.mark.anyio


async def test_items_come_out_in_the_order_they_went_in() -> None:
    """put_nowait then get/get_nowait: first in, first out; len and empty follow."""
    inbox: Inbox[int] = Inbox()
    assert inbox.empty() and len(inbox) == 0
    for i in range(3):
        inbox.put_nowait(i)
    assert not inbox.empty() and len(inbox) == 3
    assert await inbox.get() == 0
    assert inbox.get_nowait() == 1
    assert await inbox.get() == 2
    assert inbox.empty()
    with pytest.raises(asyncio.QueueEmpty):
        inbox.get_nowait()


async def test_a_waiting_getter_is_woken_by_the_next_item() -> None:
    """get on an empty inbox waits until an item is put."""
    inbox: Inbox[str] = Inbox()
    getter = asyncio.create_task(inbox.get())
    await asyncio.sleep(0)
    assert not getter.done()
    inbox.put_nowait("a")
    assert await asyncio.wait_for(getter, 5) == "a"


async def test_waiting_getters_are_served_in_the_order_they_came() -> None:
    """Each item goes to one getter, the one that has waited longest."""
    inbox: Inbox[int] = Inbox()
    getters = [asyncio.create_task(inbox.get()) for _ in range(3)]
    await asyncio.sleep(0)
    for i in range(3):
        inbox.put_nowait(i)
    assert await asyncio.wait_for(asyncio.gather(*getters), 5) == [0, 1, 2]


async def test_a_cancelled_getter_takes_nothing() -> None:
    """A getter cancelled while waiting leaves the next item to whoever asks next."""
    inbox: Inbox[int] = Inbox()
    cancelled = asyncio.create_task(inbox.get())
    await asyncio.sleep(0)
    cancelled.cancel()
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    inbox.put_nowait(7)
    assert await asyncio.wait_for(inbox.get(), 5) == 7


async def test_a_getter_cancelled_after_it_was_woken_hands_the_item_on() -> None:
    """Woken for an item and cancelled before it ran: the item is not lost, the next waiting
    getter gets it."""
    inbox: Inbox[int] = Inbox()
    first = asyncio.create_task(inbox.get())
    second = asyncio.create_task(inbox.get())
    await asyncio.sleep(0)
    inbox.put_nowait(1)  # wakes `first`, which has not run yet
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    assert await asyncio.wait_for(second, 5) == 1
    assert inbox.empty()
