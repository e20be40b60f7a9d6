"""A first-in, first-out queue without bounds for tasks of one event loop.

``asyncio.Queue`` pays for what the per-frame path does not use: its bounds, ``task_done``
counting and putters' bookkeeping cost ~11 Python calls per item (``put_nowait`` → ``full``,
``_put``, ``_finished.clear``, ``_wakeup_next``; ``get`` → ``empty``, ``get_nowait``, ``_get``,
``_wakeup_next``), and every live audio frame goes through two queues (uvicorn's receive queue
and the connection's inputs). Here ``put_nowait`` is one call and ``get`` one, plus a future only
when the consumer has to wait.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from typing import Generic, TypeVar

T = TypeVar("T")


class Inbox(Generic[T]):
    """``put_nowait`` / ``await get()`` / ``get_nowait`` / ``empty`` of ``asyncio.Queue``, unbounded.

    Any number of tasks may wait in ``get``; each item goes to one of them, in the order they
    began waiting. A getter that is cancelled takes nothing (the item stays for the next)."""

    __slots__ = ("_getters", "_items")

    def __init__(self) -> None:
        self._items: deque[T] = deque()
        self._getters: deque[asyncio.Future[None]] = deque()

    def __len__(self) -> int:
        return len(self._items)

    def empty(self) -> bool:
        return not self._items

    def put_nowait(self, item: T) -> None:
        self._items.append(item)
        getters = self._getters  # _wake_next inlined: every received frame comes through here
        while getters:
            getter = getters.popleft()
            if not getter.done():
                getter.set_result(None)
                return

    def get_nowait(self) -> T:
        """The oldest item; ``asyncio.QueueEmpty`` when there is none."""
        if not self._items:
            raise asyncio.QueueEmpty
        return self._items.popleft()

    async def get(self) -> T:
        items = self._items
        while not items:
            getter = asyncio.get_running_loop().create_future()
            self._getters.append(getter)
            try:
                await getter
            except BaseException:
                if getter.done() and not getter.cancelled():
                    if items:  # woken for an item, then cancelled: the next getter takes it
                        self._wake_next()
                else:
                    getter.cancel()
                    with contextlib.suppress(ValueError):
                        self._getters.remove(getter)
                raise
        return items.popleft()

    def _wake_next(self) -> None:
        getters = self._getters
        while getters:
            getter = getters.popleft()
            if not getter.done():
                getter.set_result(None)
                return
