@cli
Feature: Invalid input stops the command with one line on stderr
  A command that cannot answer prints nothing on stdout and one line on
  stderr, never a Python traceback. The exit status tells why: 1 for invalid
  input (a missing or empty argument, a bad time, a file that is not a valid
  scenario), 2 for a scenario file that does not exist.

  Background:
    Given these files:
      | file            | contents                                                                                                |
      | broken.json     | {"config": {"default": {"capacity": 5, "refill_rate": 1}}, "requests": [                                |
      | blank_name.json | {"config": {"default": {"capacity": 5, "refill_rate": 1}}, "requests": [{"user": "", "time": 0}]}       |
      | negative.json   | {"config": {"default": {"capacity": 5, "refill_rate": 1}}, "requests": [{"user": "alice", "time": -1}]} |
      | no_refill.json  | {"config": {"default": {"capacity": 5, "refill_rate": 0}}, "requests": []}                              |
      | not_json.json   | capacity=5                                                                                              |

  Scenario Outline: `<command>` exits with status <status>
    When I run `<command>`
    Then it exits with status <status>
    And stdout is empty
    And stderr is one line, with no traceback

    Examples: invalid input
      | command                                 | status |
      | limiter check --time 0                  | 1      |
      | limiter check --user '' --time 0        | 1      |
      | limiter check --user alice --time soon  | 1      |
      | limiter check --user alice --time -1    | 1      |
      | limiter check --user alice --time NaN   | 1      |
      | limiter scenario                        | 1      |
      | limiter scenario --file broken.json     | 1      |
      | limiter scenario --file not_json.json   | 1      |
      | limiter scenario --file blank_name.json | 1      |
      | limiter scenario --file negative.json   | 1      |
      | limiter scenario --file no_refill.json  | 1      |

    Examples: a missing file
      | command                              | status |
      | limiter scenario --file missing.json | 2      |

  @diagnostics
  Scenario Outline: the line on stderr names what is wrong, in `<command>`
    When I run `<command>`
    Then stderr is one line, with no traceback
    And that line names "<named>"

    Examples:
      | command                                 | named        |
      | limiter check --time 0                  | --user       |
      | limiter check --user alice --time soon  | --time       |
      | limiter scenario --file broken.json     | broken.json  |
      | limiter scenario --file blank_name.json | user         |
      | limiter scenario --file negative.json   | time         |
      | limiter scenario --file no_refill.json  | refill_rate  |
      | limiter scenario --file missing.json    | missing.json |
