@SCN-5
Feature: Spec scenario 5, retry-after timing
  With 3 tokens refilled at 2 a second, an empty bucket is told to wait half a
  second; a quarter of a second later it holds half a token and is told to
  wait the other quarter; after half a second the request goes through.

  Scenario: alice is told how long to wait, and waiting that long is enough
    Given by default buckets hold up to 3 tokens and refill at 2 tokens per second
    When these requests are made:
      | user  | time |
      | alice | 0    |
      | alice | 0    |
      | alice | 0    |
      | alice | 0    |
      | alice | 0.25 |
      | alice | 0.5  |
    Then the answers are:
      | user  | time | decision | remaining | retry after |
      | alice | 0    | ALLOW    | 2.0       |             |
      | alice | 0    | ALLOW    | 1.0       |             |
      | alice | 0    | ALLOW    | 0.0       |             |
      | alice | 0    | DENY     | 0.0       | 0.5         |
      | alice | 0.25 | DENY     | 0.5       | 0.25        |
      | alice | 0.5  | ALLOW    | 0.0       |             |
