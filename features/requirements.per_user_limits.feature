@REQ-RL-005
Feature: Users named in the configuration get their own limits
  The configuration gives a default bucket and, for some users, a bucket of
  their own: its own capacity and its own refill rate. Everyone not named
  gets the default.

  Background:
    Given by default buckets hold up to 5 tokens and refill at 1 token per second
    And alice's bucket holds up to 10 tokens and refills at 2 tokens per second

  Rule: a named user has their own capacity and rate; the rest have the default

    Scenario: alice can burst 10 requests, bob 5
      Given alice has made 8 requests at 0 seconds
      And bob has made 3 requests at 0 seconds
      When these requests are made:
        | user  | time |
        | alice | 0    |
        | alice | 0    |
        | alice | 0    |
        | bob   | 0    |
        | bob   | 0    |
        | bob   | 0    |
      Then the answers are:
        | user  | time | decision | remaining | retry after |
        | alice | 0    | ALLOW    | 1         |             |
        | alice | 0    | ALLOW    | 0         |             |
        | alice | 0    | DENY     | 0         | 0.5         |
        | bob   | 0    | ALLOW    | 1         |             |
        | bob   | 0    | ALLOW    | 0         |             |
        | bob   | 0    | DENY     | 0         | 1           |

    Scenario: alice's tokens come back twice as fast as bob's
      Given alice has made 10 requests at 0 seconds
      And bob has made 5 requests at 0 seconds
      When these requests are made:
        | user  | time |
        | alice | 1    |
        | alice | 1    |
        | bob   | 1    |
        | bob   | 1    |
      Then the answers are:
        | user  | time | decision | remaining | retry after |
        | alice | 1    | ALLOW    | 1         |             |
        | alice | 1    | ALLOW    | 0         |             |
        | bob   | 1    | ALLOW    | 0         |             |
        | bob   | 1    | DENY     | 0         | 1           |

    Scenario: carol, not named anywhere, gets the default
      When carol makes a request at 0 seconds
      Then carol is allowed, with 4 tokens left
