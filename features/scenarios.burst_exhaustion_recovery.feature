@SCN-1
Feature: Spec scenario 1, burst, exhaustion and recovery
  A full bucket lets a burst through until it is empty, turns the next request
  down, and lets one through again once a token has grown back.

  Scenario: alice spends 5 tokens at once, is denied, and recovers after 1 second
    Given by default buckets hold up to 5 tokens and refill at 1 token per second
    When these requests are made:
      | user  | time |
      | alice | 0    |
      | alice | 0    |
      | alice | 0    |
      | alice | 0    |
      | alice | 0    |
      | alice | 0    |
      | alice | 1.0  |
    Then the answers are:
      | user  | time | decision | remaining | retry after |
      | alice | 0    | ALLOW    | 4.0       |             |
      | alice | 0    | ALLOW    | 3.0       |             |
      | alice | 0    | ALLOW    | 2.0       |             |
      | alice | 0    | ALLOW    | 1.0       |             |
      | alice | 0    | ALLOW    | 0.0       |             |
      | alice | 0    | DENY     | 0.0       | 1.0         |
      | alice | 1.0  | ALLOW    | 0.0       |             |
