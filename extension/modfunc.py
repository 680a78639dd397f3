"""Package attributes that stay functions after their module of the same name is imported.

``corpusql.report`` is a function and ``corpusql.report`` the module that defines it; importing
the module (``from corpusql.report import build_html``, or the demo doing so) makes Python set the
package attribute to the module, so ``corpusql.report(...)`` would then fail with "'module' object
is not callable". :func:`callable_module` makes such a module call its function instead.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Callable


def callable_module(module_name: str, fn: Callable) -> None:
    """Calling the module ``module_name`` calls ``fn`` (same arguments, same result)."""

    class _CallableModule(types.ModuleType):
        def __call__(self, *args, **kwargs):
            return fn(*args, **kwargs)

    _CallableModule.__doc__ = fn.__doc__
    sys.modules[module_name].__class__ = _CallableModule
