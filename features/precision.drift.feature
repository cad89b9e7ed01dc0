@precision
Feature: Small steps add up exactly, with no drift
  Refill rates such as 0.1 tokens a second, and times such as 0.3 seconds,
  have no exact binary floating point form. Added up over many requests,
  rounding errors could leave a bucket a hair short of a whole token, and a
  request that should be allowed would be denied. Tokens are counted exactly,
  so ten tenths of a token make one token.

  Scenario: ten seconds at 0.1 tokens a second make exactly one token
    Given by default buckets hold up to 1 token and refill at 0.1 tokens per second
    When these requests are made:
      | user  | time |
      | alice | 0    |
      | alice | 1    |
      | alice | 2    |
      | alice | 3    |
      | alice | 4    |
      | alice | 5    |
      | alice | 6    |
      | alice | 7    |
      | alice | 8    |
      | alice | 9    |
      | alice | 10   |
    Then the answers are:
      | user  | time | decision | remaining | retry after |
      | alice | 0    | ALLOW    | 0.0       |             |
      | alice | 1    | DENY     | 0.1       | 9.0         |
      | alice | 2    | DENY     | 0.2       | 8.0         |
      | alice | 3    | DENY     | 0.3       | 7.0         |
      | alice | 4    | DENY     | 0.4       | 6.0         |
      | alice | 5    | DENY     | 0.5       | 5.0         |
      | alice | 6    | DENY     | 0.6       | 4.0         |
      | alice | 7    | DENY     | 0.7       | 3.0         |
      | alice | 8    | DENY     | 0.8       | 2.0         |
      | alice | 9    | DENY     | 0.9       | 1.0         |
      | alice | 10   | ALLOW    | 0.0       |             |

  Scenario: a tenth of a second at 10 tokens a second makes exactly one token
    Given by default buckets hold up to 1 token and refill at 10 tokens per second
    When these requests are made:
      | user  | time |
      | alice | 0.1  |
      | alice | 0.2  |
      | alice | 0.3  |
      | alice | 0.4  |
      | alice | 0.5  |
      | alice | 0.6  |
      | alice | 0.7  |
      | alice | 0.8  |
      | alice | 0.9  |
      | alice | 1.0  |
    Then the answers are:
      | user  | time | decision | remaining | retry after |
      | alice | 0.1  | ALLOW    | 0.0       |             |
      | alice | 0.2  | ALLOW    | 0.0       |             |
      | alice | 0.3  | ALLOW    | 0.0       |             |
      | alice | 0.4  | ALLOW    | 0.0       |             |
      | alice | 0.5  | ALLOW    | 0.0       |             |
      | alice | 0.6  | ALLOW    | 0.0       |             |
      | alice | 0.7  | ALLOW    | 0.0       |             |
      | alice | 0.8  | ALLOW    | 0.0       |             |
      | alice | 0.9  | ALLOW    | 0.0       |             |
      | alice | 1.0  | ALLOW    | 0.0       |             |
