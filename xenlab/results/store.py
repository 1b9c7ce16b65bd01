"""Gathering the records of a run (any process; the xdist controller sees only what the
reports carried) and the results file a later `--baseline` reads."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xenlab.errors import XenlabError

FORMAT = "xenlab-results/1"


class ResultsError(XenlabError):
    """A results file (a --baseline) that cannot be read."""


@dataclass
class Results:
    labs: dict[str, dict[str, Any]] = field(default_factory=dict)

    def lab(self, name: str) -> dict[str, Any]:
        return self.labs.setdefault(name, {"lab": {"name": name, "hosts": []},
                                           "fingerprint": {}, "tests": []})

    def add(self, kind: str, value: dict[str, Any]) -> None:
        """One item a report carried: ("xenlab", record) or ("xenlab_lab", lab info)."""
        entry = self.lab(value["lab"])
        if kind == "xenlab":
            entry["tests"].append(value)
        elif kind == "xenlab_lab":
            entry["lab"] = value["description"]
            entry["fingerprint"].update(value["fingerprint"])

    def document(self) -> dict[str, Any]:
        for entry in self.labs.values():
            entry["tests"].sort(key=lambda t: (t["stage"] or 0, t["nodeid"]))
        return {"format": FORMAT, "labs": self.labs}


def write_results(document: dict[str, Any], path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=1, default=str))
    return path


def load_results(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    try:
        document = json.loads(path.read_text())
    except OSError as exc:
        raise ResultsError(f"{path}: cannot read the results file ({exc.strerror})") from None
    except json.JSONDecodeError as exc:
        raise ResultsError(f"{path}: not a results file (not JSON: {exc.msg}, "
                           f"line {exc.lineno})") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        seen = document.get("format") if isinstance(document, dict) else type(document).__name__
        raise ResultsError(f"{path}: not a results file (format {seen!r}, expected {FORMAT!r}); "
                           f"give the reports/<run>/xenlab-results.json of an earlier run")
    return document
