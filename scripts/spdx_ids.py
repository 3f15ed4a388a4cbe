"""Write local_spdx.json, the SPDX identifiers the template's licence check knows, from packaging's own list.

Run it after upgrading packaging (tests/test_spdx.py fails until the two agree):
``.venv/bin/python scripts/spdx_ids.py``.
"""

from __future__ import annotations

import json
import sys

from bakery import TEMPLATE

SPDX_JSON = TEMPLATE / "local_spdx.json"


def spdx_content() -> dict:
    """{"version", "licenses", "exceptions"}: packaging's vendored SPDX list, identifiers in their spelling."""
    from packaging.licenses import _spdx

    return {
        "version": _spdx.VERSION,
        "licenses": sorted(entry["id"] for entry in _spdx.LICENSES.values()),
        "exceptions": sorted(entry["id"] for entry in _spdx.EXCEPTIONS.values()),
    }


def main() -> int:
    SPDX_JSON.write_text(json.dumps(spdx_content(), indent=0) + "\n", encoding="utf-8")
    print(f"wrote {SPDX_JSON.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
