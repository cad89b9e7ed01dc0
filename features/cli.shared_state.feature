@cli @shared-state
Feature: --state and --redis keep buckets between runs of the command line
  By the specification, `limiter check` answers one request with a limiter of
  its own, so every run meets a full bucket. As an extension, `--state FILE`
  keeps the buckets in an SQLite file instead of the process's memory:
  successive runs, and runs of several processes at once, then answer as one
  limiter would. `scenario` and `replay` take the same option, and `--redis URL`
  does the same with a Redis server. A state file or server that cannot be used
  stops the run with exit status 3 and one line naming it.

  Scenario: without --state, every run meets a full bucket
    When I run `limiter check --user alice --time 0`
    And I run `limiter check --user alice --time 0`
    Then it exits with status 0
    And stdout has these answers:
      | user  | time | decision | remaining | retry after |
      | alice | 0    | ALLOW    | 4.0       |             |

  Scenario: with --state, each run finds the bucket the one before left
    When I run `limiter check --user alice --time 0 --state buckets.db`
    And I run `limiter check --user alice --time 0 --state buckets.db`
    Then it exits with status 0
    And stdout has these answers:
      | user  | time | decision | remaining | retry after |
      | alice | 0    | ALLOW    | 3.0       |             |

  Scenario: the bucket refills between runs as it would in one limiter
    Given a file "burst.json" containing:
      """
      {"config": {"default": {"capacity": 5, "refill_rate": 1}},
       "requests": [{"user": "alice", "time": 0}, {"user": "alice", "time": 0},
                    {"user": "alice", "time": 0}, {"user": "alice", "time": 0},
                    {"user": "alice", "time": 0}]}
      """
    When I run `limiter scenario --file burst.json --state buckets.db`
    And I run `limiter check --user alice --time 0.5 --state buckets.db`
    Then it exits with status 0
    And stdout has these answers:
      | user  | time | decision | remaining | retry after |
      | alice | 0.5  | DENY     | 0.5       | 0.5         |

  Scenario: a state file that is not a database is left alone
    Given a file "notes.txt" containing:
      """
      alice has five tokens
      """
    When I run `limiter check --user alice --time 0 --state notes.txt`
    Then it exits with status 3
    And stdout is empty
    And stderr is one line, with no traceback
    And that line names "notes.txt"

  Scenario: a Redis server that cannot be reached is named, with exit status 3
    When I run `limiter check --user alice --time 0 --redis redis://127.0.0.1:1/0`
    Then it exits with status 3
    And stdout is empty
    And stderr is one line, with no traceback
    And that line names "redis://127.0.0.1:1/0"
