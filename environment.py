"""behave hooks for the conformance suite in features/.

The system under test and where it keeps its buckets are chosen once, from
``-D``, before the first feature (see ``steps.support.drivers.choose_suite``
and docs/conformance.md). Every scenario starts from a blank story in a folder
of its own, removed after it.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from steps.support.drivers import choose_suite
from steps.support.world import Context, ScenarioState


def before_all(context: Context) -> None:
    """Choose the system under test and its store from ``-D``."""
    context.suite = choose_suite(context.config.userdata)
    print(f"system under test: {context.suite}")


def after_all(context: Context) -> None:
    """Remove the stores' files and stop a Redis server started for the run."""
    suite = getattr(context, "suite", None)  # None when before_all refused -D
    if suite is not None:
        suite.close()


def before_scenario(context: Context, scenario: Any) -> None:
    """Start the scenario's story, with an empty folder for its files."""
    folder = Path(tempfile.mkdtemp(prefix="limiter-feature-"))
    context.state = ScenarioState(folder)


def after_scenario(context: Context, scenario: Any) -> None:
    """Remove the scenario's folder and whatever its commands left there."""
    shutil.rmtree(context.state.folder, ignore_errors=True)
