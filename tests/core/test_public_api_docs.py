"""Every name the core exports is documented in docs/plugins.md's API table (section 6)."""
import re
from pathlib import Path

import fastembody_core
from fastembody_core import testing

DOC = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"


def test_every_public_name_is_in_the_api_table():
    text = DOC.read_text(encoding="utf-8")
    table = text[text.index("## 6. The core's public API"):]
    documented = set(re.findall(r"`([A-Za-z_.]+)`", table))
    names = set(fastembody_core.__all__) | {f"testing.{n}" for n in testing.__all__}
    assert not sorted(names - documented), sorted(names - documented)
