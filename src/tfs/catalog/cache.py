"""Catalog answers kept rendered in the process, and programs' levels, by the catalog version
they were read from.

A version never changes once imported, so an answer kept under its version is right for as long
as that version is current; a new import makes a new version and the old answers simply stop
being asked for (least recently used go first, within a byte budget).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable

from tfs.catalog.repository import StoredLevel


class AnswerCache:
    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._answers: OrderedDict[Hashable, bytes] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()  # answers are put from worker threads too

    def get(self, key: Hashable) -> bytes | None:
        with self._lock:
            body = self._answers.get(key)
            if body is not None:
                self._answers.move_to_end(key)
            return body

    def put(self, key: Hashable, body: bytes) -> None:
        if len(body) > self.max_bytes // 4:  # one huge answer does not empty the cache
            return
        with self._lock:
            old = self._answers.pop(key, None)
            if old is not None:
                self._bytes -= len(old)
            self._answers[key] = body
            self._bytes += len(body)
            while self._bytes > self.max_bytes:
                _, dropped = self._answers.popitem(last=False)
                self._bytes -= len(dropped)


class Shapes:
    """Each program's levels (hierarchy and level views) by catalog version, so that a read
    that misses the answers above does not read all its program's levels again.

    Kept only for the versions read lately (a new import makes a new version; the oldest goes).
    The caller reads the head in its snapshot first: levels kept under that version are the ones
    its snapshot would read.
    """

    MAX_VERSIONS = 64

    def __init__(self) -> None:
        self._by_version: OrderedDict[tuple[int, int], Shape] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, program_id: int, version: int, read: Callable[[], list[StoredLevel]]) -> Shape:
        key = (program_id, version)
        with self._lock:
            shape = self._by_version.get(key)
            if shape is not None:
                self._by_version.move_to_end(key)
                return shape
        shape = Shape(read())  # outside the lock: another thread may read the same; harmless
        with self._lock:
            self._by_version[key] = shape
            while len(self._by_version) > self.MAX_VERSIONS:
                self._by_version.popitem(last=False)
        return shape


class Shape:
    """A program's levels as of one version, and what is worked out of them, once."""

    def __init__(self, levels: list[StoredLevel]) -> None:
        self.levels = levels
        self.ids = frozenset(lv.catalog_id for lv in levels)
        children: dict[int | None, list[int]] = {}
        for lv in levels:
            children.setdefault(lv.parent_id, []).append(lv.catalog_id)
        self._children = children
        self._leaves: dict[int, list[int]] = {}

    def leaves_under(self, catalog_id: int) -> list[int]:
        """The leaves at or below a level (the level itself when it is a leaf)."""
        leaves = self._leaves.get(catalog_id)
        if leaves is None:
            leaves, todo = [], [catalog_id]
            while todo:
                node = todo.pop()
                below = self._children.get(node)
                if below:
                    todo.extend(below)
                else:
                    leaves.append(node)
            self._leaves[catalog_id] = leaves  # the same list whoever computes it first
        return leaves
