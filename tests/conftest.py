"""Shared fixtures: a fresh plugin registry per test, and in-process plugin registration."""
import pytest

from fastembody_core import plugins


@pytest.fixture
def registry():
    """A fresh process-wide registry (entry points reloaded), restored afterwards."""
    previous = plugins._registry
    reg = plugins.reset_registry()
    yield reg
    plugins._registry = previous


@pytest.fixture
def register_plugin(registry):
    """Register an object/module with hookimpls in-process; unregistered at teardown."""
    names = []

    def _register(plugin, name):
        names.append(name)
        return registry.register_plugin(plugin, name=name)

    yield _register
    for name in names:
        registry.unregister_plugin(name)
