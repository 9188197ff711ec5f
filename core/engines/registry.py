"""The engine registry: engines are added by explicit calls, never by import side effects.

The registry holds a factory per engine id (a class, or a function of `device`) and one instance made
with no device, which answers questions about the engine (title, parameters, requirements) without
loading any weights. `create(id, device)` makes a fresh engine to run.
"""

from __future__ import annotations

import builtins
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
        self.notes: list[str] = []  # what the user should know about engines that could not be listed

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

    # `list` below means the builtin: inside the class body the name is the method above.
    def available(self, task: str | None = None) -> builtins.list[Engine]:
        """The engines that can run now (a learned engine without any weights cannot)."""
        return [e for e in self.list(task) if e.unavailable() is None]

    def default(self, task: str) -> Engine | None:
        """The one-click default of `task` (see default_engine)."""
        return default_engine(self.list(task), task)

    def ids(self) -> builtins.list[str]:
        return list(self._engines)

    def __contains__(self, engine_id: object) -> bool:
        return engine_id in self._engines

    def __len__(self) -> int:
        return len(self._engines)


def default_engine(engines: Iterable[Engine], task: str) -> Engine | None:
    """The one-click default of `task` among `engines`: the first of that task that can run now. Built-in
    engines are registered first, each family's default at its head (core.engines.lowlight, .inpaint)."""
    return next((e for e in engines if e.task == task and e.unavailable() is None), None)


def register_all(registry: EngineRegistry, factories: Iterable[Registrable]) -> EngineRegistry:
    for factory in factories:
        registry.register(factory)
    return registry


def builtin_engines(store: Any = None) -> list[Registrable]:
    """Every engine Restora ships. Add new engines here. Engines with weight choices get the store."""
    import functools

    from core.engines.face.engine import FaceRestoreEngine
    from core.engines.inpaint import inpaint_engines
    from core.engines.lowlight import lowlight_engines
    from core.engines.lowlight.learned import LearnedLowLightEngine

    made: list[Registrable] = []
    engines: list[type[Engine]] = [*lowlight_engines(), *inpaint_engines(), FaceRestoreEngine]
    for engine in engines:
        if isinstance(engine, type) and issubclass(engine, (LearnedLowLightEngine, FaceRestoreEngine)):
            made.append(functools.partial(engine, store=store))
        else:
            made.append(engine)
    return made


def classical_engines() -> list[type[Engine]]:
    """The built-in engines with no weights: their modules never load torch or read the model store."""
    from core.engines.inpaint import inpaint_engines
    from core.engines.lowlight import classical_lowlight_engines

    return [*classical_lowlight_engines(), *inpaint_engines()]


def registry_for(engine_id: str) -> EngineRegistry:
    """A registry to run one engine with: the classical engines alone when `engine_id` is one of them (no
    model store is read and torch is not loaded, which is most of a restore command's start-up), else
    default_registry()."""
    classical = register_all(EngineRegistry(), classical_engines())
    return classical if engine_id in classical else default_registry()


def dedicated_architectures() -> frozenset[str]:
    """Architectures a built-in engine serves: their store models are that engine's weight choices, not
    engines of their own."""
    from core.engines.lowlight import lowlight_engines

    return frozenset(a for e in lowlight_engines() if (a := getattr(e, "architecture", None)))


def face_architectures(store: Any) -> frozenset[str]:
    """Architectures of the store's aligned-face models and face parsers: the face engine's restorer and
    face-mask choices, not engines of their own."""
    from core.engines.face.engine import parses, serves

    return frozenset(e.architecture for e in store.list() if serves(e) or parses(e))


def default_registry(*, include_store: bool = True, store: Any = None) -> EngineRegistry:
    """The built-in engines, plus one engine per model in the model store that no built-in engine serves.

    A damaged or unreadable store never hides the built-in engines: its problem is kept in `registry.notes`.
    """
    registry = EngineRegistry()
    if include_store and store is None:
        from core.store import ModelStore, StoreError

        try:
            store = ModelStore()
        except StoreError as e:
            registry.notes.append(str(e))
    register_all(registry, builtin_engines(store if include_store else None))
    if include_store and store is not None:
        from core.engines.model_engine import store_engines

        try:
            register_all(registry, store_engines(store, dedicated_architectures() | face_architectures(store)))
        except RestoraError as e:
            registry.notes.append(f"Imported models could not be listed: {e}")
        registry.notes.extend(f"Model store: {p}" for p in store.problems)
    return registry
