"""Fixtures shared by the test modules.

The builders themselves live in plain modules the tests import (``networks``: network
descriptions, simulators, hypothesis strategies, the gradient-check batches; ``command_line``: the
``neurosim`` command line in a subprocess), because parametrize lists and strategies are needed
when a module is collected. Nothing imports this file: pytest loads it and hands out the fixtures.
"""
from __future__ import annotations

import pytest

import command_line
import networks


@pytest.fixture(scope="session")
def cli():
    """``cli(*args, cwd=None, timeout=300)``: ``python -m neurosim.cli ARGS`` in a subprocess."""
    return command_line.run_cli


@pytest.fixture(scope="session")
def gradcheck_batch():
    """``gradcheck_batch(name, cost="mse") -> (problem, net, params)``: the batch of the bundled
    gradcheck scenario ``name`` ("layered" or "graph"), built from the model layer up."""
    return networks.gradcheck_problem
