"""Step definitions for the behave suite in features/, by area.

behave runs every module here as a step module; ``steps.support`` holds what
they share: the drivers of the system under test and the answer helpers.
"""
