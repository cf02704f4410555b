"""Why a verdict moved: the difference between what two verdicts were judged from."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from grader.report.files import atomic_write_text


def _shown(key) -> str:
    if isinstance(key, list) and all(isinstance(k, str) and len(k) == 1 for k in key):
        return "{" + ", ".join(key) + "}"
    if isinstance(key, str) and len(key) <= 3:
        return key
    if isinstance(key, dict):
        return "{" + ", ".join(f"{k}: {tuple(v)}" for k, v in key.items()) + "}"
    return "changed"  # a builder's source: not quoted


def reasons(old: dict, new: dict, old_keys: dict | None, new_keys: dict | None) -> list[str]:
    """Sentences for a person, e.g. ["ch10.q2 key C -> B"]; `old`/`new`: the verdicts' inputs."""
    said = []
    if old.get("run") != new.get("run"):
        if not old.get("run"):
            said.append("graded")
        elif old.get("run", "")[:16] != new.get("run", "")[:16]:
            said.append("new notebook")
        else:
            said.append("re-run: new run plan")
    if old.get("key_version") != new.get("key_version") and old_keys is not None and new_keys is not None:
        for part in sorted(set(old_keys) | set(new_keys)):
            item = part.split("/")[0]
            a, b = old_keys.get(part), new_keys.get(part)
            if a is None or b is None:
                said.append(f"{item} {'added' if a is None else 'removed'}")
                continue
            if a["key"] != b["key"]:
                key_a, key_b = _shown(a["key"]), _shown(b["key"])
                said.append(f"{item} key {key_a} -> {key_b}" if key_a != "changed" else f"{item} key changed")
            if a["points"] != b["points"]:
                said.append(f"{item} points {a['points']:g} -> {b['points']:g}")
    elif old.get("key_version") != new.get("key_version"):
        said.append("answer keys changed")
    old_settings = {s["name"]: s["value"] for s in old.get("settings", [])}
    for setting in new.get("settings", []):
        before = old_settings.get(setting["name"])
        if setting["name"] in old_settings and before != setting["value"]:
            said.append(f"{setting['name']} {before} -> {setting['value']}")
    old_overrides, new_overrides = old.get("overrides", {}), new.get("overrides", {})
    for item in sorted(set(old_overrides) | set(new_overrides)):
        a, b = old_overrides.get(item), new_overrides.get(item)
        if a != b:
            said.append(f"{item} override removed" if b is None else f"{item} override {b['score']:g}")
    if old.get("judging") != new.get("judging"):
        said.append("judging code changed")
    return said or ["re-judged"]


def write_regrade_log(out: Path, lines: list[str], when: dt.datetime | None = None) -> Path | None:
    """`regrade-<timestamp>.md` beside the summary: one line per student who moved."""
    if not lines:
        return None
    when = when or dt.datetime.now(dt.timezone.utc)
    stamp = when.strftime("%Y%m%dT%H%M%SZ")
    text = f"# Regrade {when.isoformat(timespec='seconds')}\n\n" + "".join(f"- {line}\n" for line in lines)
    return atomic_write_text(Path(out) / f"regrade-{stamp}.md", text)
