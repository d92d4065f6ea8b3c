"""The consumers of a run's events, by name: ``fit`` hands every ``TrainEvent`` to a
``Callbacks``, which calls each of its callbacks' ``on_event`` in the order they were given
(as pythae's ``CallbackHandler`` does). A callback is any object with a ``name`` and an
``on_event(ev)``: the terminal's progress bar (``genlab.cli.progress``), the latent movie
(``genlab.latent.movie``), and in a job the messages to the server, the history a checkpoint
needs and the checkpointer (``genlab.jobs.consumers``). A callback never changes the
training: it reads the events, and the time it takes is time the training waits."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol

from genlab.train.control import TrainEvent


class Callback(Protocol):
    name: str

    def on_event(self, ev: TrainEvent) -> None: ...


class Hook:
    """A plain function ``fn(ev)`` as a named callback."""

    def __init__(self, fn: Callable[[TrainEvent], object], name: str = "") -> None:
        self.fn, self.name = fn, name or getattr(fn, "__name__", "hook")

    def on_event(self, ev: TrainEvent) -> None:
        self.fn(ev)


class Callbacks:
    """Named callbacks called in order with each event; callable itself, so it can stand
    wherever a function ``on_event(ev)`` is expected."""

    def __init__(self, callbacks: Iterable[Callback] = ()) -> None:
        self.callbacks: list[Callback] = []
        for cb in callbacks:
            self.add(cb)

    @classmethod
    def of(cls, given: Callbacks | Callback | Callable | Iterable | None) -> Callbacks:
        """``fit``'s ``on_event`` as Callbacks: Callbacks as they are, one callback, a list of
        callbacks, or a plain function ``fn(ev)``."""
        if given is None:
            return cls()
        if isinstance(given, Callbacks):
            return given
        if hasattr(given, "on_event"):
            return cls([given])
        if callable(given):
            return cls([Hook(given)])
        return cls(given)

    def add(self, callback: Callback | None) -> Callbacks:
        """Append ``callback`` (None is skipped: a consumer a run does not have)."""
        if callback is not None:
            if not callable(getattr(callback, "on_event", None)):
                raise TypeError(f"{callback!r} has no on_event(ev).")
            self.callbacks.append(callback)
        return self

    @property
    def names(self) -> list[str]:
        return [cb.name for cb in self.callbacks]

    def __getitem__(self, name: str) -> Callback:
        for cb in self.callbacks:
            if cb.name == name:
                return cb
        raise KeyError(name)

    def __len__(self) -> int:
        return len(self.callbacks)

    def on_event(self, ev: TrainEvent) -> None:
        for cb in self.callbacks:
            cb.on_event(ev)

    __call__ = on_event
