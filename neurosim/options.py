"""Keyword options of a registered function (a data loader, a toy generator, a noise schedule),
checked against the function's own signature before anything is loaded or built.

A scenario passes such options as a free-form table (``data.options``, ``generative.data_options``,
``generative.schedule_options``). :func:`option_problem` names the first option that the function
does not take, whose type does not match the annotation (or the default's type), or that fails a
range declared next to the function with :func:`option_ranges`. It imports nothing of the package,
so every layer can declare its options' ranges.
"""
from __future__ import annotations

import inspect
import math
import types
import typing


def option_ranges(**checks):
    """Declare range checks for a function's keyword options: ``name=check``, where
    ``check(value)`` returns ``None`` when the value is fine, else what was expected."""
    def mark(func):
        func.__option_ranges__ = dict(checks)
        return func
    return mark


# -- range checks (each returns None or "what was expected") ----------------------------------
def at_least(lo):
    return lambda v: None if v >= lo else f"a number ≥ {lo:g}"


def greater_than(lo):
    return lambda v: None if v > lo else f"a number > {lo:g}"


def between(lo, hi):
    return lambda v: None if lo <= v <= hi else f"a number in [{lo:g}, {hi:g}]"


_NAMES = {int: "an integer", float: "a number", str: "a string", bool: "a boolean",
          list: "an array", dict: "a table", type(None): "absent"}


def _allowed(hint) -> tuple | None:
    """The plain types an annotation admits (None: anything)."""
    if hint is inspect.Parameter.empty or hint is typing.Any:
        return None
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        out = ()
        for arg in typing.get_args(hint):
            sub = _allowed(arg)
            if sub is None:
                return None
            out += sub
        return out
    if origin is not None:
        return (origin,)
    return (hint,) if isinstance(hint, type) else None


def _matches(value, allowed) -> bool:
    for t in allowed:
        if t is bool:
            if isinstance(value, bool):
                return True
        elif t is int:
            if isinstance(value, int) and not isinstance(value, bool):
                return True
        elif t is float:
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return True
        elif t is tuple or t is list:
            if isinstance(value, (list, tuple)):
                return True
        elif isinstance(value, t):
            return True
    return False


def option_problem(func, options: dict, skip=()) -> tuple[str, str] | None:
    """``(option, what was expected)`` for the first bad option of ``func``, or None.

    ``skip``: parameters the caller fills itself (a seed, a sample count, a generator).
    """
    sig = inspect.signature(func)
    try:
        hints = typing.get_type_hints(func.__init__ if inspect.isclass(func) else func)
    except Exception:  # an annotation that does not evaluate: fall back to the defaults' types
        hints = {}
    params = {name: p for name, p in sig.parameters.items()
              if name not in skip and name != "self" and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    ranges = getattr(func, "__option_ranges__", {})
    for name, value in options.items():
        if name not in params:
            return name, f"an option of {func.__name__}: one of {sorted(params)}"
        allowed = _allowed(hints.get(name, inspect.Parameter.empty))
        default = params[name].default
        if allowed is None and default is not inspect.Parameter.empty and default is not None:
            allowed = (float,) if isinstance(default, float) else (type(default),)
        if allowed is not None and not _matches(value, allowed):
            names = " or ".join(_NAMES.get(t, t.__name__) for t in allowed if t is not type(None))
            return name, f"{names}, got {value!r}"
        if isinstance(value, float) and not math.isfinite(value):
            return name, f"a finite number, got {value!r}"
        check = ranges.get(name)
        problem = check(value) if check is not None and value is not None else None
        if problem:
            return name, f"{problem}, got {value!r}"
    return None
