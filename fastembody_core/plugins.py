"""Plugin discovery: entry points of group ``fastembody`` -> pluggy -> registries of envs, algorithms, trainers,
loggers.

Nothing is imported at ``import fastembody_core``: the registry loads plugins the first time it is used.
A plugin that fails to import is a warning (``FASTEMBODY_STRICT_PLUGINS=1`` re-raises) and the others keep
working; two plugins registering one name is an error naming both distributions.
"""
import dataclasses
import difflib
import importlib
import os
import sys
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

import pluggy

from . import hookspecs
from .errors import PluginError

KINDS = ("envs", "algorithms", "trainers", "loggers")
_HOOK_OF_KIND = {"envs": "register_envs", "algorithms": "register_algorithms", "trainers": "register_trainers",
                 "loggers": "register_loggers"}
_HOOK_NAMES = [name for name in dir(hookspecs) if name.startswith("register_")]
_SINGULAR = {"envs": "env", "algorithms": "algorithm", "trainers": "trainer", "loggers": "logger"}


class PluginWarning(UserWarning):
    """A plugin failed to load or implements an unknown hook; the others keep working."""


@dataclass
class Registration:
    """One registered env, algorithm or trainer."""

    kind: str
    name: str
    factory: Callable[..., Any]
    params: Optional[type] = None
    description: str = ""
    preload: Optional[str] = None
    plugin: str = ""
    """Name of the distribution (or in-process plugin) that registered it."""

    def matches(self, name: str) -> bool:
        if self.name.endswith(":*"):
            return name.startswith(self.name[:-1]) and len(name) > len(self.name) - 1
        return name == self.name

    def as_dict(self) -> Dict[str, Any]:
        out = {"name": self.name, "description": self.description}
        if self.params is not None:
            out["params"] = self.params.__name__
        if self.preload:
            out["preload"] = self.preload
        return out


@dataclass
class PluginInfo:
    """What ``fastembody plugins`` reports about one plugin."""

    name: str
    version: str = ""
    module: str = ""
    status: str = "ok"
    error: str = ""
    hooks: List[str] = field(default_factory=list)
    registered: Dict[str, List[str]] = field(default_factory=dict)

    def as_dict(self) -> Dict[str, Any]:
        out: Dict[str, Any] = {
            "name": self.name,
            "version": self.version,
            "module": self.module,
            "status": self.status,
            "hooks": self.hooks,
            "registered": self.registered,
        }
        if self.error:
            out["error"] = self.error
        return out


def _entry_points() -> List[Any]:
    from importlib import metadata

    eps = metadata.entry_points()
    if hasattr(eps, "select"):
        return list(eps.select(group=hookspecs.PROJECT_NAME))
    return list(eps.get(hookspecs.PROJECT_NAME, []))  # Python 3.8/3.9


def _dist_of(ep: Any) -> Tuple[str, str]:
    dist = getattr(ep, "dist", None)
    if dist is not None:
        return dist.metadata["Name"], dist.version
    return ep.name, ""


class Registry:
    """Registries of envs, algorithms, trainers and loggers, filled from plugins on first use."""

    def __init__(self, load_entry_points: bool = True):
        self.pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self.pm.add_hookspecs(hookspecs)
        self._load_entry_points = load_entry_points
        self._loaded = False
        self._plugins: Dict[str, PluginInfo] = {}
        self._modules: Dict[str, Any] = {}
        self._tables: Dict[str, Dict[str, Registration]] = {k: {} for k in KINDS}
        self._commands: Optional[Dict[str, Any]] = None
        self._hints: Dict[Tuple[str, str], Dict[str, str]] = {}
        """(kind, name or family) -> {requirement: plugin that said so} (``register_install_hints``)."""
        self._conflicts: Dict[Tuple[str, str], List[Registration]] = {}
        """(kind, name) -> every registration of a name claimed more than once: refused until one is removed."""

    # -- loading -------------------------------------------------------------------------------------
    def _ensure_loaded(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        from . import builtin

        self._add(builtin, PluginInfo(name="fastembody-core", version=_core_version(), module=builtin.__name__))
        if self._load_entry_points:
            for ep in sorted(_entry_points(), key=lambda e: e.name):
                self._load_entry_point(ep)

    def _load_entry_point(self, ep: Any) -> None:
        dist, version = _dist_of(ep)
        info = PluginInfo(name=dist, version=version, module=ep.value)
        try:
            module = ep.load()
        except Exception as exc:  # a broken plugin must not take the others down
            if os.environ.get("FASTEMBODY_STRICT_PLUGINS") == "1":
                raise
            self._fail(info, f"failed to import {ep.value}: {type(exc).__name__}: {exc}")
            return
        self._add(module, info)

    def _fail(self, info: PluginInfo, error: str) -> None:
        info.status, info.error = "error", " ".join(error.split())
        self._plugins[info.name] = info
        version = f" {info.version}" if info.version else ""
        warnings.warn(f"plugin {info.name}{version}: {info.error}", PluginWarning, stacklevel=3)

    def _add(self, module: Any, info: PluginInfo) -> None:
        try:
            self.pm.register(module, name=info.name)
        except (pluggy.PluginValidationError, ValueError) as exc:
            if self.pm.is_registered(module):
                self.pm.unregister(module)
            if os.environ.get("FASTEMBODY_STRICT_PLUGINS") == "1":
                raise PluginError(f"plugin {info.name}: {exc}") from exc
            self._fail(info, str(exc))
            return
        callers = self.pm.get_hookcallers(module) or []
        unknown = sorted(h.name for h in callers if not h.has_spec())
        info.hooks = sorted(h.name for h in callers if h.has_spec())
        if unknown:  # a misspelled hook fails alone; the plugin's other hooks still register
            near = difflib.get_close_matches(unknown[0], _HOOK_NAMES, n=1)
            msg = f"unknown hook {unknown[0]!r}" + (f" (did you mean {near[0]!r}?)" if near else "")
            if os.environ.get("FASTEMBODY_STRICT_PLUGINS") == "1":
                self.pm.unregister(module)
                raise PluginError(f"plugin {info.name}: {msg}")
            self._fail(info, msg + (f"; its other hooks ({', '.join(info.hooks)}) are loaded" if info.hooks else ""))
        new: List[Registration] = []
        hints: List[Tuple[str, str, str]] = []
        try:
            for kind in KINDS:
                for impl in getattr(self.pm.hook, _HOOK_OF_KIND[kind]).get_hookimpls():
                    if impl.plugin is module:
                        impl.function(register=self._registrar(kind, info.name, new))
            for impl in self.pm.hook.register_install_hints.get_hookimpls():
                if impl.plugin is module:
                    impl.function(register=self._hint_registrar(info.name, hints))
        except Exception as exc:  # a bad registration fails this plugin alone, as a broken import does
            self.pm.unregister(module)
            if os.environ.get("FASTEMBODY_STRICT_PLUGINS") == "1":
                raise
            own = str(exc).replace(f"plugin {info.name}: ", "", 1)
            self._fail(info, f"registration failed: {own}" if isinstance(exc, PluginError) else
                       f"registration failed: {type(exc).__name__}: {exc}")
            return
        self._plugins[info.name] = info
        self._modules[info.name] = module
        self._commands = None
        for kind, name, requirement in hints:
            self._hints.setdefault((kind, name), {}).setdefault(requirement, info.name)
        for reg in new:
            info.registered.setdefault(reg.kind, []).append(reg.name)
            key = (reg.kind, reg.name)
            previous = self._tables[reg.kind].pop(reg.name, None)
            if key not in self._conflicts and previous is None:
                self._tables[reg.kind][reg.name] = reg
                continue
            self._conflicts.setdefault(key, [previous] if previous is not None else []).append(reg)
            self._mark_conflict(*key)

    def _mark_conflict(self, kind: str, name: str) -> None:
        """Every claimant of ``name`` gets status error naming the others; the name is withheld, the rest works."""
        claimants = [r.plugin for r in self._conflicts[(kind, name)]]
        for plugin in dict.fromkeys(claimants):
            info = self._plugins.get(plugin)
            others = [p for p in dict.fromkeys(claimants) if p != plugin]
            if info is None:
                continue
            line = (f"{_SINGULAR[kind]} {name!r} is also registered by {' and '.join(others)}" if others else
                    f"{_SINGULAR[kind]} {name!r} is registered twice") + ": uninstall one (its other names work)"
            info.status = "error"
            info.error = line if not info.error else f"{info.error}; {line}"
        if os.environ.get("FASTEMBODY_STRICT_PLUGINS") == "1":
            raise PluginError(self._conflict_line(kind, name))
        warnings.warn(self._conflict_line(kind, name) + "; the other names load", PluginWarning, stacklevel=4)

    def _conflict_line(self, kind: str, name: str) -> str:
        claimants = list(dict.fromkeys(r.plugin for r in self._conflicts[(kind, name)]))
        if len(claimants) == 1:
            return f"{_SINGULAR[kind]} {name!r} is registered twice by {claimants[0]}; fix that plugin"
        return f"{_SINGULAR[kind]} {name!r} is registered by both {' and '.join(claimants)}; uninstall one of them"

    def _registrar(self, kind: str, plugin: str, sink: List[Registration]) -> Callable[..., None]:
        def register(
            name: str,
            factory: Callable[..., Any],
            params: Optional[type] = None,
            description: str = "",
            preload: Optional[str] = None,
        ) -> None:
            if not isinstance(name, str) or not name:
                raise PluginError(f"plugin {plugin} registered a {_SINGULAR[kind]} with an empty name")
            if not callable(factory):
                raise PluginError(f"plugin {plugin}: {_SINGULAR[kind]} {name!r} factory is not callable")
            if params is not None and not (isinstance(params, type) and dataclasses.is_dataclass(params)):
                raise PluginError(f"plugin {plugin}: {_SINGULAR[kind]} {name!r} params must be a dataclass type")
            sink.append(Registration(kind, name, factory, params, description, preload, plugin))

        return register

    @staticmethod
    def _hint_registrar(plugin: str, sink: List[Tuple[str, str, str]]) -> Callable[..., None]:
        kinds = {singular: kind for kind, singular in _SINGULAR.items()}

        def register(kind: str, name: str, requirement: str) -> None:
            if kind not in kinds:
                raise PluginError(f"plugin {plugin}: install hint kind {kind!r} is not one of "
                                  f"{', '.join(sorted(kinds))}")
            if not (isinstance(name, str) and name and isinstance(requirement, str) and requirement.strip()):
                raise PluginError(f"plugin {plugin}: install hint for {kind} {name!r} needs a name and a requirement")
            sink.append((kinds[kind], name, requirement.strip()))

        return register

    def install_hint(self, kind: str, name: str) -> Optional[str]:
        """The requirement installed plugins say provides ``name`` (``register_install_hints``), or None."""
        self._ensure_loaded()
        for (k, known), requirements in self._hints.items():
            if k == kind and (known == name or (known.endswith(":*") and name.startswith(known[:-1]))):
                return " or ".join(requirements)
        return None

    # -- CLI commands from plugins (register_commands) ------------------------------------------------
    def commands(self, reserved: Iterable[str] = ()) -> Dict[str, Any]:
        """The click commands plugins add to ``fastembody`` (name -> command), collected once. A plugin whose hook
        fails, or a command named like a ``reserved`` (built-in) or an earlier plugin's command, is left out with
        a warning naming the plugin; the rest load."""
        import click

        self._ensure_loaded()
        if self._commands is None:
            found: Dict[str, Any] = {}
            reserved = set(reserved)
            for impl in reversed(self.pm.hook.register_commands.get_hookimpls()):  # registration order
                plugin = self.pm.get_name(impl.plugin) or "?"
                group = click.Group()
                try:
                    impl.function(cli=group)
                except Exception as exc:  # a broken plugin must not take the CLI down
                    if os.environ.get("FASTEMBODY_STRICT_PLUGINS") == "1":
                        raise
                    self._fail(self._plugins.get(plugin) or PluginInfo(name=plugin),
                               f"register_commands failed: {type(exc).__name__}: {exc}")
                    continue
                for name, command in group.commands.items():
                    taken = "a built-in command" if name in reserved else (
                        f"also added by {found[name][0]}" if name in found else "")
                    if taken:
                        warnings.warn(f"plugin {plugin}: command {name!r} is {taken}; not added", PluginWarning,
                                      stacklevel=2)
                        continue
                    found[name] = (plugin, command)
                    info = self._plugins.get(plugin)
                    if info is not None:
                        info.registered.setdefault("commands", []).append(name)
            self._commands = {name: command for name, (_, command) in found.items()}
        return self._commands

    # -- in-process plugins (tests, notebooks) -------------------------------------------------------
    def register_plugin(self, plugin: Any, name: Optional[str] = None, version: str = "") -> PluginInfo:
        """Register a module or object with hookimpls in-process, as an installed plugin would be."""
        self._ensure_loaded()
        name = name or getattr(plugin, "__name__", None) or type(plugin).__name__
        if name in self._plugins:
            raise PluginError(f"a plugin named {name!r} is already registered")
        self._add(plugin, PluginInfo(name=name, version=version, module=getattr(plugin, "__name__", name)))
        return self._plugins[name]

    def unregister_plugin(self, name: str) -> None:
        """Remove an in-process plugin and everything it registered."""
        info = self._plugins.pop(name, None)
        module = self._modules.pop(name, None)
        self._commands = None
        if module is not None and self.pm.is_registered(module):
            self.pm.unregister(module)
        for kind in KINDS:
            for reg_name in [n for n, r in self._tables[kind].items() if r.plugin == name]:
                del self._tables[kind][reg_name]
        for key, requirements in list(self._hints.items()):
            self._hints[key] = {req: p for req, p in requirements.items() if p != name}
            if not self._hints[key]:
                del self._hints[key]
        for (kind, reg_name), claims in list(self._conflicts.items()):
            left = [r for r in claims if r.plugin != name]
            if len(left) == len(claims):
                continue
            del self._conflicts[(kind, reg_name)]
            if len(left) == 1:  # the collision is over: the remaining claimant has its name back
                self._tables[kind][reg_name] = left[0]
            elif left:
                self._conflicts[(kind, reg_name)] = left
        del info

    # -- queries -------------------------------------------------------------------------------------
    def plugins(self) -> List[PluginInfo]:
        self._ensure_loaded()
        return list(self._plugins.values())

    def table(self, kind: str) -> Dict[str, Registration]:
        self._ensure_loaded()
        return dict(self._tables[kind])

    def get(self, kind: str, name: str, source: Optional[str] = None) -> Registration:
        """The registration for ``name``, or a PluginError listing what is installed and what provides it."""
        table = self.table(kind)
        where = f"{source}: " if source else ""
        if (kind, name) in self._conflicts:
            raise PluginError(f"{where}{self._conflict_line(kind, name)}")
        if name in table:
            return table[name]
        for reg in table.values():
            if reg.matches(name):
                return reg
        installed = ", ".join(sorted(table)) or "none"
        hint = ""
        requirement = self.install_hint(kind, name)
        if requirement is not None:
            hint = f"; it is provided by {requirement}: pip install {requirement}"
        else:
            near = difflib.get_close_matches(name, list(table), n=1)
            if near:
                hint = f"; did you mean {near[0]!r}?"
        raise PluginError(f"{where}unknown {_SINGULAR[kind]} {name!r} (installed: {installed}){hint}")


def _core_version() -> str:
    from . import __version__

    return __version__


_registry: Optional[Registry] = None


def get_registry() -> Registry:
    """The process-wide registry (plugins load on first use)."""
    global _registry
    if _registry is None:
        _registry = Registry()
    return _registry


def reset_registry(load_entry_points: bool = True) -> Registry:
    """Drop the process-wide registry and start a new one (tests)."""
    global _registry
    _registry = Registry(load_entry_points=load_entry_points)
    return _registry


def import_preload(module_names: Iterable[str]) -> None:
    """Import modules that must come before torch (e.g. Isaac Gym); error if torch is already loaded."""
    for name in module_names:
        if name in sys.modules:
            continue
        importlib.import_module(name)
