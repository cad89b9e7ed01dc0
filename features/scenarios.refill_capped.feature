@SCN-4
Feature: Spec scenario 4, refill capped at capacity
  Ten idle seconds at 1 token a second would add 10 tokens, but a bucket of
  5 tokens holds 5 at most, so alice finds 5 and keeps 4.

  Scenario: alice comes back after 10 idle seconds to a bucket of 5, not 14
    Given by default buckets hold up to 5 tokens and refill at 1 token per second
    When these requests are made:
      | user  | time |
      | alice | 0    |
      | alice | 10   |
    Then the answers are:
      | user  | time | decision | remaining | retry after |
      | alice | 0    | ALLOW    | 4.0       |             |
      | alice | 10   | ALLOW    | 4.0       |             |
