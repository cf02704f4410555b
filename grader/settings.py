"""Check settings resolved once: built-in default < the solution notebook's item settings < the
instructor's command line. Every report lists each setting it used and where it came from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from grader.checks import REGISTRY, check_for

DEFAULT, SOLUTION, COMMAND_LINE = "built-in default", "solution notebook", "command line"


@dataclass(frozen=True)
class Setting:
    value: Any
    source: str


def checks_with(setting: str) -> list[str]:
    return sorted(name for name, check in REGISTRY.items() if setting in check.defaults)


def resolve(part, overrides: dict[str, dict[str, Any]]) -> dict[str, Setting]:
    """The settings of `part`'s check; `overrides`: check name -> {setting: value} from the command line."""
    check = check_for(part)
    resolved = {name: Setting(value, DEFAULT) for name, value in check.defaults.items()}
    for name, value in part.settings.items():
        resolved[name] = Setting(value, SOLUTION)
    for name, value in overrides.get(check.name, {}).items():
        if name in resolved:
            resolved[name] = Setting(value, COMMAND_LINE)
    return resolved


def values(settings: dict[str, Setting]) -> dict[str, Any]:
    return {name: s.value for name, s in settings.items()}
