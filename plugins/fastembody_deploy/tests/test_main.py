"""The commands: bad input is one line and a non-zero exit, before anything reaches a robot."""
import pytest

from fastembody_deploy.main import main, parse_script, parse_triple
from fastembody_deploy.errors import DeployError


def test_a_missing_bundle_is_one_line(capsys, tmp_path):
    assert main([str(tmp_path / "none"), "--interface", "lo"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("Error: bundle") and "not a directory" in err and "\n" not in err


def test_an_unknown_interface_is_one_line(capsys, bundle_factory):
    pytest.importorskip("cyclonedds")
    assert main([str(bundle_factory()), "--interface", "nope0"]) == 2
    assert "network interface 'nope0' does not exist" in capsys.readouterr().err


def test_scripts_and_commands_parse_or_say_why():
    assert parse_script("stand@0.5, walk@3,quit@9") == {"stand": 0.5, "walk": 3.0, "quit": 9.0}
    assert parse_triple("0.5,0,-0.2") == [0.5, 0.0, -0.2]
    with pytest.raises(DeployError, match="events are"):
        parse_script("jump@1")
    with pytest.raises(DeployError, match="three numbers"):
        parse_triple("fast")


def test_fastembody_deploy_is_a_cli_command(tmp_path):
    pytest.importorskip("fastembody_core")
    from click.testing import CliRunner

    from fastembody_core.cli import cli

    result = CliRunner().invoke(cli, ["deploy", str(tmp_path / "none"), "--sim"])
    assert result.exit_code == 1 and "Error: bundle" in result.output and "Traceback" not in result.output
    result = CliRunner().invoke(cli, ["deploy", str(tmp_path / "none")])
    assert result.exit_code == 1 and "needs --interface" in result.output


def test_the_plugin_module_loads_light():
    """Every `fastembody` start loads the plugin module: no numpy, onnxruntime or torch there."""
    import subprocess
    import sys

    code = ("import sys, fastembody_deploy.plugin\n"
            "from fastembody_core import get_registry\n"
            "assert 'deploy' in get_registry().commands()\n"
            "print([m for m in ('torch', 'numpy', 'onnxruntime') if m in sys.modules])\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "[]", out.stdout + out.stderr
