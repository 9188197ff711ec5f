"""The engine registry: engines are added by explicit calls, never by import side effects."""

from __future__ import annotations

from typing import Any, Iterable

from core.engines.base import Engine, TASKS
from core.errors import RestoraError


class UnknownEngineError(RestoraError, KeyError):
    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown engine"


class EngineRegistry:
    def __init__(self) -> None:
        self._engines: dict[str, type[Engine]] = {}

    def register(self, engine: type[Engine]) -> type[Engine]:
        if engine.task not in TASKS:
            raise ValueError(f"{engine.__name__}: task {engine.task!r} is not one of {TASKS}")
        if engine.id in self._engines and self._engines[engine.id] is not engine:
            raise ValueError(f"engine id {engine.id!r} is registered twice")
        self._engines[engine.id] = engine
        return engine

    def get(self, engine_id: str) -> type[Engine]:
        try:
            return self._engines[engine_id]
        except KeyError:
            raise UnknownEngineError(
                f"No engine {engine_id!r}. Known engines: {', '.join(sorted(self._engines)) or 'none'}.") from None

    def create(self, engine_id: str, device: Any = None) -> Engine:
        return self.get(engine_id)(device=device)

    def list(self, task: str | None = None) -> list[type[Engine]]:
        return [e for e in self._engines.values() if task is None or e.task == task]

    def ids(self) -> list[str]:
        return list(self._engines)

    def __contains__(self, engine_id: object) -> bool:
        return engine_id in self._engines

    def __len__(self) -> int:
        return len(self._engines)


def register_all(registry: EngineRegistry, engines: Iterable[type[Engine]]) -> EngineRegistry:
    for engine in engines:
        registry.register(engine)
    return registry


def builtin_engines() -> list[type[Engine]]:
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
