"""Scenario files: parse, validate, fill defaults, resolve seeds (docs/scenarios.md).

Importing the package registers every kind's sections (``kind_*`` modules, through
:func:`sections.register_kind`), then the ``[sweep]`` section, in the order docs/scenarios.md lists
them, so ``sections.SECTIONS`` is complete whichever module is imported first.
"""
from . import sections  # noqa: F401
from . import kind_train, kind_gradcheck, kind_multitask, kind_generative  # noqa: F401,E402,I001
from . import sweep_section  # noqa: F401,E402
