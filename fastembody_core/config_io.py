"""Reading config text strictly: UTF-8 only, YAML without duplicate keys or octal-looking integers, a bound on how
far aliases may expand, and a short quote of any value an error message shows.

Everything is parsed with ``yaml.SafeLoader`` (through a stricter subclass) or ``json``; nothing is eval'd.
"""
import json
import re
import reprlib
from pathlib import Path
from typing import Any, Dict, List, Tuple

import yaml
from yaml.constructor import ConstructorError

from .errors import ConfigError

MAX_CONFIG_VALUES = 250_000
"""How many values (counting every use of a YAML alias) a config may expand to; a bigger one is refused."""

_QUOTE = reprlib.Repr()
_QUOTE.maxstring, _QUOTE.maxother, _QUOTE.maxlist, _QUOTE.maxtuple = 60, 60, 6, 6
_QUOTE.maxdict, _QUOTE.maxset, _QUOTE.maxlevel = 4, 4, 3
_LEADING_ZERO = re.compile(r"^[-+]?0[0-9_]+$")


def short_repr(value: Any, limit: int = 80) -> str:
    """``repr(value)`` cut to about ``limit`` characters without building the full repr (alias bombs)."""
    text = _QUOTE.repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class StrictYAMLError(ConstructorError):
    """A YAML document that parses but is ambiguous: a duplicate key or an octal-looking integer."""


class StrictLoader(yaml.SafeLoader):
    """``SafeLoader`` that refuses duplicate mapping keys and integers like ``010`` (YAML 1.1 reads them as octal
    8) or ``1:30`` (base 60)."""

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        if isinstance(node, yaml.MappingNode):
            seen: Dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue  # '<<: *base' may be overridden by the mapping's own keys
                key = self.construct_object(key_node, deep=True)
                try:
                    hash(key)
                except TypeError:  # an unhashable key: SafeLoader reports it
                    continue
                if key in seen:
                    raise StrictYAMLError(None, None, f"duplicate key {short_repr(key)} (first at line "
                                          f"{seen[key] + 1}); keep one", key_node.start_mark)
                seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep)

    def construct_yaml_int(self, node: Any) -> int:
        text = str(self.construct_scalar(node))
        if _LEADING_ZERO.match(text):
            digits = text.lstrip("+-").replace("_", "")
            raise StrictYAMLError(None, None, f"{text} looks octal (YAML 1.1 reads it as {int(digits, 8)}); write "
                                  f"{int(digits)} for decimal or quote it", node.start_mark)
        if ":" in text:
            raise StrictYAMLError(None, None, f"{text} is a base-60 number in YAML 1.1; quote it if it is text",
                                  node.start_mark)
        return super().construct_yaml_int(node)


StrictLoader.add_constructor("tag:yaml.org,2002:int", StrictLoader.construct_yaml_int)


def _no_duplicates(pairs: List[Tuple[str, Any]]) -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {short_repr(key)}; keep one")
        out[key] = value
    return out


def load_yaml(text: str) -> Any:
    """``yaml.load(text, StrictLoader)``."""
    return yaml.load(text, Loader=StrictLoader)  # noqa: S506 - StrictLoader is a SafeLoader


def read_text(path: Path) -> str:
    """A config file's text; ConfigError (one line) if it cannot be read or is not UTF-8."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror or exc}", source=str(path)) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); save it as UTF-8",
                          source=str(path)) from None


def parse_text(text: str, source: str, as_json: bool) -> Any:
    """Parse config text (JSON or strict YAML) and bound its expanded size; errors name ``source`` and the line."""
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicates) if as_json else load_yaml(text)
    except (yaml.YAMLError, ValueError) as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" at line {where.line + 1}" if where is not None else (f" at line {exc.lineno}" if hasattr(exc, "lineno") else "")
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"cannot parse{line}: {problem}"[:300], source=source) from None
    check_size(data, source)
    return data


def check_size(data: Any, source: str, limit: int = MAX_CONFIG_VALUES) -> None:
    """Refuse data that expands to more than ``limit`` values (a YAML alias bomb) without expanding it."""
    count, stack = 0, [data]
    while stack:
        item = stack.pop()
        count += 1
        if count > limit:
            raise ConfigError(f"expands to more than {limit:,} values (nested YAML aliases?); refusing to read it",
                              source=source)
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
