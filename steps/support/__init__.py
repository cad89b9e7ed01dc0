"""What the step modules share: drivers of the system under test and helpers.

- ``gherkin``: typed step decorators and the parameter types of step text;
- ``answers``: requests and answers, read from tables and from answer lines;
- ``schemas``: the JSON Schemas in ``schemas/`` every JSON line is held to;
- ``drivers``: the systems under test (our engine, our CLI, another command);
- ``world``: the context our hooks prepare and the state of one scenario.
"""
