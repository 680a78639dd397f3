"""Licences and terms of catalog datasets, and what they allow of the outputs built from them.

Every dataset carries four fields (columns of ``corpusql.datasets``):

- ``licence``: an SPDX licence id or expression (``CC-BY-4.0``, ``MIT OR Apache-2.0``,
  ``LicenseRef-...``) or the explicit word ``unknown``; a dataset added without one is
  ``unknown``, never guessed from its files or URL;
- ``terms_url``: where the terms of use are written (or NULL);
- ``attribution``: the credit line the terms ask for (or NULL);
- ``redistributable``: ``true``, ``false`` or ``unknown`` (may copies be given to others).

A materialization's manifest records these fields per input dataset (in its ``datasets``
record) and ``redistributable`` for the whole output: ``false`` when any input dataset is not
redistributable, ``unknown`` when any input's status is unknown or an input is not a catalog
dataset, ``true`` otherwise. Writing an output marked ``false`` somewhere ``public=True``
(``materialize``, ``export_tokens``) is refused, naming the datasets.
"""

from __future__ import annotations

import difflib
import re
from typing import Any

from .errors import CatalogError

UNKNOWN = "unknown"
REDISTRIBUTABLE = ("true", "false", UNKNOWN)
FIELDS = ("licence", "terms_url", "attribution", "redistributable")

#: Common SPDX ids, used to catch case slips ("mit" -> "MIT"); other well-formed ids pass.
COMMON = ("MIT", "Apache-2.0", "BSD-2-Clause", "BSD-3-Clause", "CC0-1.0", "CC-BY-4.0",
          "CC-BY-SA-4.0", "CC-BY-NC-4.0", "CC-BY-NC-SA-4.0", "CC-BY-ND-4.0", "CC-BY-3.0",
          "CC-BY-SA-3.0", "GPL-2.0-only", "GPL-3.0-only", "GPL-3.0-or-later", "LGPL-3.0-only",
          "AGPL-3.0-only", "MPL-2.0", "ODC-By-1.0", "ODbL-1.0", "PDDL-1.0", "Unlicense",
          "OpenRAIL", "CDLA-Permissive-2.0", "CDLA-Sharing-1.0")
_ID = re.compile(r"^(?:LicenseRef-[A-Za-z0-9.-]+|[A-Za-z0-9][A-Za-z0-9.+-]*)$")
_OPS = {"AND", "OR", "WITH"}


class LicenceError(CatalogError, ValueError):
    """A licence field is not well formed; the message names the dataset and the field."""


def check_licence(name: str, licence: str | None) -> str:
    """``licence`` as stored: an SPDX id or expression, or ``unknown`` (None means unknown)."""
    if licence is None or licence.strip().lower() == UNKNOWN:
        return UNKNOWN
    text = licence.strip()
    words = [w for w in re.split(r"[\s()]+", text) if w]
    for w in words:
        if w in _OPS:
            continue
        if not _ID.match(w):
            raise LicenceError(f"dataset {name!r}: licence {licence!r}: {w!r} is not an SPDX "
                               "licence id; give an id from https://spdx.org/licenses/ (such as "
                               "CC-BY-4.0), LicenseRef-<name> for custom terms, or 'unknown'")
        for known in COMMON:
            if w.lower() == known.lower() and w != known:
                raise LicenceError(f"dataset {name!r}: licence {licence!r}: SPDX ids are "
                                   f"case-sensitive; did you mean {known!r}?")
    if words and (words[0] in _OPS or words[-1] in _OPS):
        raise LicenceError(f"dataset {name!r}: licence {licence!r} is not a complete SPDX "
                           "expression (it starts or ends with AND/OR/WITH)")
    if any((w in _OPS) != (i % 2 == 1) for i, w in enumerate(words)):
        raise LicenceError(f"dataset {name!r}: licence {licence!r} is not an SPDX licence id "
                           "or expression (ids joined by AND, OR, WITH); give an id from "
                           "https://spdx.org/licenses/, LicenseRef-<name>, or 'unknown'")
    return text


def check_redistributable(name: str, value: Any) -> str:
    """``true``/``false``/``unknown`` from a bool, None or one of those words."""
    if value is None:
        return UNKNOWN
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value).strip().lower()
    if text in REDISTRIBUTABLE:
        return text
    near = difflib.get_close_matches(text, REDISTRIBUTABLE, n=1)
    hint = f"; did you mean {near[0]!r}?" if near else ""
    raise LicenceError(f"dataset {name!r}: redistributable = {value!r} is not one of "
                       f"true, false, unknown{hint}")


def normalized(name: str, *, licence=None, terms_url=None, attribution=None,
               redistributable=None) -> dict[str, str | None]:
    """The four fields as stored, checked (see the module docstring)."""
    return {"licence": check_licence(name, licence), "terms_url": terms_url or None,
            "attribution": attribution or None,
            "redistributable": check_redistributable(name, redistributable)}


def of_row(row: dict[str, Any]) -> dict[str, str | None]:
    """The licence fields of a ``corpusql.datasets`` row (``unknown`` where a catalog made
    before licences has none)."""
    return {"licence": row.get("licence") or UNKNOWN, "terms_url": row.get("terms_url"),
            "attribution": row.get("attribution"),
            "redistributable": row.get("redistributable") or UNKNOWN}


def release_status(plan: dict[str, Any]) -> dict[str, Any]:
    """``{"redistributable": ..., "why": [...]}`` of an output made by ``plan``."""
    datasets = plan.get("datasets") or {}
    no = sorted(n for n, r in datasets.items()
                if (r.get("licence") or {}).get("redistributable") == "false")
    if no:
        return {"redistributable": "false",
                "why": [f"dataset {n} is not redistributable (licence "
                        f"{datasets[n]['licence']['licence']})" for n in no]}
    why = [f"dataset {n} has redistributable = unknown" for n, r in sorted(datasets.items())
           if (r.get("licence") or {}).get("redistributable", UNKNOWN) == UNKNOWN]
    other = [i["path"] for i in plan.get("inputs") or []] + list(plan.get("tables") or []) \
        + list(plan.get("unversioned_inputs") or [])
    why += [f"{p} is not a catalog dataset (no licence recorded)" for p in other]
    return {"redistributable": UNKNOWN if why or not datasets else "true",
            "why": why or ([] if datasets else ["no catalog dataset is read"])}
