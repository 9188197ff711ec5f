"""The engine registry: engines are added by explicit calls, never by import side effects.

The registry holds a factory per engine id (a class, or a function of `device`) and one instance made
with no device, which answers questions about the engine (title, parameters, requirements) without
loading any weights. `create(id, device)` makes a fresh engine to run.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Union

from core.engines.base import Engine
from core.errors import RestoraError
from core.kinds import TASKS

EngineFactory = Callable[..., Engine]  # factory(device=...) -> Engine
Registrable = Union[EngineFactory, type[Engine]]


class UnknownEngineError(RestoraError, KeyError):
    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown engine"


class EngineRegistry:
    def __init__(self) -> None:
        self._factories: dict[str, EngineFactory] = {}
        self._engines: dict[str, Engine] = {}

    def register(self, factory: Registrable) -> Engine:
        """Add an engine; returns its listing instance (made with no device)."""
        engine = factory(device=None)
        if engine.task not in TASKS:
            raise ValueError(f"{type(engine).__name__}: task {engine.task!r} is not one of {TASKS}")
        known = self._factories.get(engine.id)
        if known is not None and known is not factory:
            raise ValueError(f"engine id {engine.id!r} is registered twice")
        engine.factory = factory
        self._factories[engine.id] = factory
        self._engines[engine.id] = engine
        return engine

    def get(self, engine_id: str) -> Engine:
        """The listing instance of an engine (for its title, parameters and requirements)."""
        try:
            return self._engines[engine_id]
        except KeyError:
            raise UnknownEngineError(
                f"No engine {engine_id!r}. Known engines: {', '.join(sorted(self._engines)) or 'none'}.") from None

    def create(self, engine_id: str, device: Any = None) -> Engine:
        """A new engine to run on `device`."""
        return self.get(engine_id).on_device(device)

    def factory(self, engine_id: str) -> EngineFactory:
        self.get(engine_id)
        return self._factories[engine_id]

    def list(self, task: str | None = None) -> list[Engine]:
        return [e for e in self._engines.values() if task is None or e.task == task]

    def ids(self) -> list[str]:
        return list(self._engines)

    def __contains__(self, engine_id: object) -> bool:
        return engine_id in self._engines

    def __len__(self) -> int:
        return len(self._engines)


def register_all(registry: EngineRegistry, factories: Iterable[Registrable]) -> EngineRegistry:
    for factory in factories:
        registry.register(factory)
    return registry


def builtin_engines() -> list[Registrable]:
    """Every engine Restora ships. Add new engine classes here."""
    from core.engines.inpaint.classical import OpenCVInpaint
    from core.engines.lowlight import lowlight_engines

    return [*lowlight_engines(), OpenCVInpaint]


def default_registry(*, include_store: bool = True) -> EngineRegistry:
    """The built-in engines, plus one engine per model imported into the model store."""
    registry = register_all(EngineRegistry(), builtin_engines())
    if include_store:
        from core.engines.imported import store_engines

        register_all(registry, store_engines())
    return registry
