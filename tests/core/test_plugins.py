"""Plugin discovery: in-process plugins, broken plugins, clashes, misspelled hooks, lazy loading."""
import subprocess
import sys
import types

import pytest

from fastembody_core import PluginError, hookimpl, plugins
from fastembody_core.plugins import PluginWarning, Registry


class EnvPlugin:
    @hookimpl
    def register_envs(self, register):
        register("fake-env", lambda p, c: None, description="a fake env")


class ClashPlugin:
    @hookimpl
    def register_envs(self, register):
        register("fake-env", lambda p, c: None, description="same name")


class MisspelledPlugin:
    @hookimpl
    def register_env(self, register):  # missing "s"
        register("never", lambda p, c: None)


class FakeDist:
    def __init__(self, name, version):
        self.metadata = {"Name": name}
        self.version = version


class FakeEntryPoint:
    def __init__(self, name, value, dist, loader):
        self.name, self.value, self.dist, self._loader = name, value, dist, loader

    def load(self):
        return self._loader()


def _boom():
    raise ImportError("No module named 'missing_dependency'")


def _good_module():
    module = types.ModuleType("good_plugin")

    @hookimpl
    def register_algorithms(register):
        register("good-algo", lambda s, p, c: None, description="works")

    module.register_algorithms = register_algorithms
    return module


def test_in_process_register_and_unregister(registry, register_plugin):
    register_plugin(EnvPlugin(), "env-plugin")
    assert registry.get("envs", "fake-env").plugin == "env-plugin"
    registry.unregister_plugin("env-plugin")
    with pytest.raises(PluginError, match="unknown env 'fake-env'"):
        registry.get("envs", "fake-env")


def test_same_name_from_two_plugins_names_both(registry, register_plugin):
    register_plugin(EnvPlugin(), "dist-one")
    with pytest.raises(PluginError, match=r"env 'fake-env' is registered by both dist-one and dist-two"):
        register_plugin(ClashPlugin(), "dist-two")


def test_misspelled_hook_is_reported_and_others_keep_working(registry, register_plugin):
    register_plugin(EnvPlugin(), "env-plugin")
    with pytest.warns(PluginWarning, match=r"misspelled.*unknown hook 'register_env'.*did you mean 'register_envs'"):
        info = registry.register_plugin(MisspelledPlugin(), name="misspelled")
    assert info.status == "error"
    assert registry.get("envs", "fake-env")


def test_broken_entry_point_warns_and_others_load(monkeypatch):
    eps = [
        FakeEntryPoint("broken", "broken_plugin.plugin", FakeDist("broken-dist", "9.9"), _boom),
        FakeEntryPoint("good", "good_plugin", FakeDist("good-dist", "1.0"), _good_module),
    ]
    monkeypatch.setattr(plugins, "_entry_points", lambda: eps)
    monkeypatch.delenv("FASTEMBODY_STRICT_PLUGINS", raising=False)
    reg = Registry()
    with pytest.warns(PluginWarning, match=r"plugin broken-dist 9.9: failed to import broken_plugin.plugin: "
                                           r"ImportError: No module named 'missing_dependency'"):
        infos = {p.name: p for p in reg.plugins()}
    assert infos["broken-dist"].status == "error" and "missing_dependency" in infos["broken-dist"].error
    assert infos["good-dist"].status == "ok" and infos["good-dist"].registered == {"algorithms": ["good-algo"]}
    assert reg.get("algorithms", "good-algo").plugin == "good-dist"


def test_strict_mode_reraises(monkeypatch):
    eps = [FakeEntryPoint("broken", "broken_plugin.plugin", FakeDist("broken-dist", "9.9"), _boom)]
    monkeypatch.setattr(plugins, "_entry_points", lambda: eps)
    monkeypatch.setenv("FASTEMBODY_STRICT_PLUGINS", "1")
    with pytest.raises(ImportError, match="missing_dependency"):
        Registry().plugins()


def test_family_names_match_prefix(registry, register_plugin):
    class Family:
        @hookimpl
        def register_envs(self, register):
            register("fam:*", lambda p, c: None, description="a family")

    register_plugin(Family(), "family")
    assert registry.get("envs", "fam:Thing-v1").name == "fam:*"
    with pytest.raises(PluginError):
        registry.get("envs", "fam:")


def test_import_is_torch_free_and_loads_no_plugin():
    code = (
        "import sys, fastembody_core, fastembody_core.cli, fastembody_core.config, fastembody_core.pipeline;"
        "bad=[m for m in sys.modules if m=='torch' or m.startswith('fastembody_') and not m.startswith('fastembody_core')];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_listing_plugins_stays_torch_free():
    code = (
        "import sys, fastembody_core; fastembody_core.get_registry().plugins();"
        "sys.exit(1 if 'torch' in sys.modules else 0)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, "a plugin module imports torch at import time"
