@cli
Feature: limiter scenario answers every request of a file, in order
  `limiter scenario --file PATH` reads a configuration and a list of requests
  from a JSON file and prints one JSON answer line per request, in order, with
  each user's bucket carried from one request to the next. Denials are answers
  too: the command exits with status 0 whatever the decisions.

  Scenario: answers come in the order of the requests, denials included
    Given a file "scenario.json" containing:
      """
      {
        "config": {"default": {"capacity": 2, "refill_rate": 1}},
        "requests": [
          {"user": "alice", "time": 0},
          {"user": "alice", "time": 0},
          {"user": "bob", "time": 0},
          {"user": "alice", "time": 0},
          {"user": "alice", "time": 0.75}
        ]
      }
      """
    When I run `limiter scenario --file scenario.json`
    Then it exits with status 0
    And stdout has these answers:
      | user  | time | decision | remaining | retry after |
      | alice | 0    | ALLOW    | 1.0       |             |
      | alice | 0    | ALLOW    | 0.0       |             |
      | bob   | 0    | ALLOW    | 1.0       |             |
      | alice | 0    | DENY     | 0.0       | 1.0         |
      | alice | 0.75 | DENY     | 0.75      | 0.25        |
    And every answer line has its keys in the order of the contract

  Scenario: users named in the file get their own buckets
    Given a file "scenario.json" containing:
      """
      {
        "config": {
          "default": {"capacity": 1, "refill_rate": 1},
          "users": {"alice": {"capacity": 2, "refill_rate": 0.5}}
        },
        "requests": [
          {"user": "alice", "time": 0},
          {"user": "alice", "time": 0},
          {"user": "alice", "time": 0},
          {"user": "bob", "time": 0},
          {"user": "bob", "time": 0}
        ]
      }
      """
    When I run `limiter scenario --file scenario.json`
    Then it exits with status 0
    And stdout has these answers:
      | user  | time | decision | remaining | retry after |
      | alice | 0    | ALLOW    | 1.0       |             |
      | alice | 0    | ALLOW    | 0.0       |             |
      | alice | 0    | DENY     | 0.0       | 2.0         |
      | bob   | 0    | ALLOW    | 0.0       |             |
      | bob   | 0    | DENY     | 0.0       | 1.0         |

  Scenario: numbers are shown to two decimal places
    Given a file "scenario.json" containing:
      """
      {
        "config": {"default": {"capacity": 1, "refill_rate": 3}},
        "requests": [
          {"user": "alice", "time": 0},
          {"user": "alice", "time": 0.333}
        ]
      }
      """
    When I run `limiter scenario --file scenario.json`
    Then it exits with status 0
    And stdout has these answers:
      | user  | time  | decision | remaining | retry after |
      | alice | 0     | ALLOW    | 0.0       |             |
      | alice | 0.333 | DENY     | 0.99      | 0.01        |

  Scenario: a file with no requests has no answers
    Given a file "scenario.json" containing:
      """
      {"config": {"default": {"capacity": 5, "refill_rate": 1}}, "requests": []}
      """
    When I run `limiter scenario --file scenario.json`
    Then it exits with status 0
    And stdout is empty
