@SCN-2
Feature: Spec scenario 2, independence
  Two users share a default of 3 tokens refilled at 1 a second. alice empties
  her bucket and is denied while bob, at the same instant, is served from his.

  Scenario: alice and bob take turns, each from their own bucket
    Given by default buckets hold up to 3 tokens and refill at 1 token per second
    When these requests are made:
      | user  | time |
      | alice | 0    |
      | alice | 0    |
      | alice | 0    |
      | alice | 0    |
      | bob   | 0    |
      | bob   | 0    |
      | alice | 1    |
      | bob   | 1    |
    Then the answers are:
      | user  | time | decision | remaining | retry after |
      | alice | 0    | ALLOW    | 2.0       |             |
      | alice | 0    | ALLOW    | 1.0       |             |
      | alice | 0    | ALLOW    | 0.0       |             |
      | alice | 0    | DENY     | 0.0       | 1.0         |
      | bob   | 0    | ALLOW    | 2.0       |             |
      | bob   | 0    | ALLOW    | 1.0       |             |
      | alice | 1    | ALLOW    | 0.0       |             |
      | bob   | 1    | ALLOW    | 1.0       |             |
