"""Plugin discovery: in-process plugins, broken plugins, clashes, misspelled hooks, lazy loading."""
import json
import os
import subprocess
import sys
import types
from pathlib import Path

import pytest

from fastembody_core import PluginError, hookimpl, plugins
from fastembody_core.plugins import PluginWarning, Registry

ROOT = Path(__file__).resolve().parents[2]


class EnvPlugin:
    @hookimpl
    def register_envs(self, register):
        register("fake-env", lambda p, c: None, description="a fake env")


class ClashAndMorePlugin:
    @hookimpl
    def register_envs(self, register):
        register("fake-env", lambda p, c: None, description="same name")
        register("other-env", lambda p, c: None, description="no clash")


class MisspelledPlugin:
    @hookimpl
    def register_env(self, register):  # missing "s"
        register("never", lambda p, c: None)

    @hookimpl
    def register_algorithms(self, register):
        register("still-here", lambda s, p, c: None)


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


def test_a_collision_withholds_only_that_name_and_names_both_claimants(registry, register_plugin):
    register_plugin(EnvPlugin(), "dist-one")
    with pytest.warns(PluginWarning, match=r"env 'fake-env' is registered by both dist-one and dist-two; uninstall"):
        register_plugin(ClashAndMorePlugin(), "dist-two")
    with pytest.raises(PluginError, match=r"env 'fake-env' is registered by both dist-one and dist-two; uninstall "
                                          r"one of them"):
        registry.get("envs", "fake-env")
    assert registry.get("envs", "other-env").plugin == "dist-two"  # the rest of both plugins keeps working
    infos = {p.name: p for p in registry.plugins()}
    assert infos["dist-one"].status == "error" and "'fake-env' is also registered by dist-two" in infos["dist-one"].error
    assert infos["dist-two"].status == "error" and "'fake-env' is also registered by dist-one" in infos["dist-two"].error
    assert infos["fastembody-core"].status == "ok"
    registry.unregister_plugin("dist-one")  # the collision is over: the remaining claimant gets its name back
    assert registry.get("envs", "fake-env").plugin == "dist-two"


def test_misspelled_hook_fails_alone_and_the_plugins_other_hooks_load(registry, register_plugin):
    register_plugin(EnvPlugin(), "env-plugin")
    with pytest.warns(PluginWarning, match=r"misspelled.*unknown hook 'register_env' \(did you mean 'register_envs'"
                                           r"\?\); its other hooks \(register_algorithms\) are loaded"):
        info = registry.register_plugin(MisspelledPlugin(), name="misspelled")
    assert info.status == "error"
    assert registry.get("envs", "fake-env")
    assert registry.get("algorithms", "still-here").plugin == "misspelled"
    with pytest.raises(PluginError, match="unknown env 'never'"):
        registry.get("envs", "never")
    register_plugin(EnvPluginTwo(), "later")  # the unknown hook left pending in pluggy never blocks a later plugin
    assert registry.get("envs", "second-env").plugin == "later"


class EnvPluginTwo:
    @hookimpl
    def register_envs(self, register):
        register("second-env", lambda p, c: None)


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


class HintingPlugin:
    @hookimpl
    def register_install_hints(self, register):
        register("algorithm", "far-algo", "far-package[extra]")
        register("env", "far:*", "far-envs")


def test_install_hints_come_from_plugins_and_leave_with_them(registry, register_plugin):
    with pytest.raises(PluginError, match=r"unknown algorithm 'far-algo' \(installed: [^)]*\)$"):
        registry.get("algorithms", "far-algo")  # no plugin says where it comes from: no hint
    register_plugin(HintingPlugin(), "hinting")
    with pytest.raises(PluginError, match=r"it is provided by far-package\[extra\]: pip install far-package\[extra\]"):
        registry.get("algorithms", "far-algo")
    with pytest.raises(PluginError, match=r"unknown env 'far:Thing-v1'.*pip install far-envs"):
        registry.get("envs", "far:Thing-v1")
    with pytest.raises(PluginError, match=r"unknown env 'far-algo' \(installed"):  # hints are per kind
        registry.get("envs", "far-algo")
    registry.unregister_plugin("hinting")
    assert registry.install_hint("algorithms", "far-algo") is None


def test_a_bad_install_hint_fails_that_plugin_with_one_line(registry, register_plugin):
    class BadHint:
        @hookimpl
        def register_install_hints(self, register):
            register("envs", "x", "pkg")  # the kind is singular

    with pytest.warns(PluginWarning, match=r"^plugin bad-hint: registration failed: install hint kind 'envs' is "
                                           r"not one of algorithm, env, logger, trainer"):
        info = register_plugin(BadHint(), "bad-hint")
    assert info.status == "error"


def test_the_core_names_no_plugin_package():
    """Install hints belong to plugins (register_install_hints): the core's code names none of its sisters."""
    sisters = ("fastembody-go2", "fastembody-ppo", "fastembody-distill", "fastembody-gym", "fastembody-trackers",
               "fastembody-deploy", "fastembody_go2", "fastembody_ppo", "fastembody_distill", "fastembody_gym",
               "fastembody_trackers", "fastembody_deploy")
    named = [f"{path.relative_to(ROOT)}: {word}" for path in sorted((ROOT / "fastembody_core").rglob("*.py"))
             for word in sisters if word in path.read_text(encoding="utf-8")]
    assert not named, named


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


def _install(site, dist, module, source):
    """A package as pip leaves it in a site dir: the module and a dist-info with an entry point of ours."""
    (site / f"{module}.py").write_text(source)
    info = site / f"{dist}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[fastembody]\n{module} = {module}\n")


def test_installed_colliding_and_broken_plugins_leave_the_cli_working(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    _install(site, "go2-impostor", "go2_impostor", "from fastembody_core import hookimpl\n\n@hookimpl\n"
             "def register_envs(register):\n    register('go2-toy', lambda p, c: None)\n"
             "    register('impostor-env', lambda p, c: None)\n")
    _install(site, "broken-thing", "broken_thing", "import sim_sdk_that_is_not_there\n")
    env = dict(os.environ, PYTHONPATH=str(site))

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "fastembody_core", *args], capture_output=True, text=True,
                              env=env, timeout=120)

    listing = cli("plugins", "--json")
    assert listing.returncode == 0, listing.stderr
    data = {p["name"]: p for p in json.loads(listing.stdout)}
    assert data["go2-impostor"]["status"] == "error" and "also registered by fastembody-go2" in \
        data["go2-impostor"]["error"]
    assert data["fastembody-go2"]["status"] == "error" and "also registered by go2-impostor" in \
        data["fastembody-go2"]["error"]
    assert data["broken-thing"]["status"] == "error" and "sim_sdk_that_is_not_there" in data["broken-thing"]["error"]
    envs = cli("list", "envs")
    assert envs.returncode == 0 and "go2-mujoco" in envs.stdout and "impostor-env" in envs.stdout, envs.stderr
    run = cli("run", str(ROOT / "configs" / "go2_toy_quick.yaml"), "--set", "trainer.params.max_iterations=1")
    errors = [line for line in run.stderr.splitlines() if line.startswith("Error")]
    assert run.returncode != 0 and "Traceback" not in run.stderr
    assert errors == [f"Error: {ROOT / 'configs' / 'go2_toy_quick.yaml'}: env.name: env 'go2-toy' is registered by both "
                      "fastembody-go2 and go2-impostor; uninstall one of them"], run.stderr


class CommandPlugin:
    @hookimpl
    def register_commands(self, cli):
        import click

        @cli.command("hello")
        @click.option("--name", default="Go2")
        def hello(name):
            """Say hello."""
            click.echo(f"hello {name}")

        @cli.command("run")
        def run():
            """Would shadow the built-in."""


class BrokenCommandPlugin:
    @hookimpl
    def register_commands(self, cli):
        raise RuntimeError("boom")


def test_a_plugin_adds_a_cli_command_but_not_over_a_built_in(registry, register_plugin):
    from click.testing import CliRunner

    from fastembody_core.cli import cli

    register_plugin(CommandPlugin(), "cmd-plugin")
    with pytest.warns(PluginWarning, match=r"plugin cmd-plugin: command 'run' is a built-in command; not added"):
        out = CliRunner().invoke(cli, ["--help"])
    assert "hello" in out.output and "Say hello." in out.output
    assert CliRunner().invoke(cli, ["hello", "--name", "you"]).output == "hello you\n"
    assert "Train the experiment" in CliRunner().invoke(cli, ["run", "--help"]).output  # the built-in stays
    assert {p.name: p for p in registry.plugins()}["cmd-plugin"].registered["commands"] == ["hello"]


def test_a_broken_register_commands_warns_and_the_others_load(registry, register_plugin):
    register_plugin(BrokenCommandPlugin(), "broken-cmds")
    register_plugin(CommandPlugin(), "cmd-plugin")
    with pytest.warns(PluginWarning) as record:
        commands = registry.commands(reserved=["run"])
    assert "hello" in commands
    assert any("broken-cmds" in str(w.message) and "register_commands failed: RuntimeError: boom" in str(w.message)
               for w in record)
