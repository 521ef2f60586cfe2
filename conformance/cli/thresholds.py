"""The ``[profile]`` table of ``conformance.toml``: when a change of observed behaviour between
two nights is stable evidence (``results.changes.Thresholds``), for ``compare`` and ``report``.

```toml
[profile]
min-responses = 20      # answers both nights must have at an operation or place
min-expected = 8        # last night would have shown a new value this often at tonight's rate
presence-was = 0.95     # a member present at least this often ...
presence-drop = 0.2     # ... and now 20 points less often
latency-factor = 2      # p95 and p50 at least twice last night's ...
latency-floor-ms = 50   # ... and at least 50 ms more
```
"""

from __future__ import annotations

from pathlib import Path

from conformance.cli.config import PROFILE, load_config
from conformance.results.changes import Thresholds


def load_thresholds(path: Path | None) -> Thresholds:
    """The thresholds of ``path`` (default ``./conformance.toml`` when present), else the defaults."""
    document = load_config(path)
    if not document:
        return Thresholds()
    return Thresholds.from_table(document.get(PROFILE, {}), str(document["path"]))
