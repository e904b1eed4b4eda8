"""Checks the nox `variant` session runs inside one rendered project, one module per area.

Each module exposes ``run(session, variant)``; ``ALL`` is the order they run in. A check drives the
generated project's own commands or a real validator, never a re-implementation.
"""

from tests.variant_checks import backend, checkov, guide, infra, web, workflows
from tests.variant_checks.common import Variant

ALL = [workflows.run, backend.run, infra.run, checkov.run, web.run, guide.run]

__all__ = ["ALL", "Variant"]
