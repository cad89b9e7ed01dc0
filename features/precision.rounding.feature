@precision
Feature: Answers show hundredths, rounded so they never promise too much
  Decisions use exact numbers; only the answer rounds them, to hundredths.
  What is left is rounded down, so a bucket never looks fuller than it is,
  and the retry after is rounded up, so coming back after it is never too
  early.

  Rule: the retry after is rounded up to the next hundredth of a second

    Scenario: a third of a second shows as 0.34, and 0.34 seconds later is enough
      Given by default buckets hold up to 1 token and refill at 3 tokens per second
      When these requests are made:
        | user  | time |
        | alice | 0    |
        | alice | 0    |
        | alice | 0.34 |
      Then the answers are:
        | user  | time | decision | remaining | retry after |
        | alice | 0    | ALLOW    | 0.0       |             |
        | alice | 0    | DENY     | 0.0       | 0.34        |
        | alice | 0.34 | ALLOW    | 0.0       |             |

    Scenario: 0.7 tokens short at 3 tokens a second shows a wait of 0.24 seconds
      Given by default buckets hold up to 1 token and refill at 3 tokens per second
      And alice has made a request at 0 seconds
      When alice makes a request at 0.1 seconds
      Then alice is denied, with 0.3 tokens left and a retry after 0.24 seconds

  Rule: what is left is rounded down to the hundredth of a token below

    Scenario: 0.999 tokens show as 0.99, never as a whole token on a denial
      Given by default buckets hold up to 1 token and refill at 3 tokens per second
      And alice has made a request at 0 seconds
      When alice makes a request at 0.333 seconds
      Then alice is denied, with 0.99 tokens left and a retry after 0.01 seconds

    Scenario: 0.665 tokens left after an allowed request show as 0.66
      Given by default buckets hold up to 5 tokens and refill at 3 tokens per second
      And alice has made 5 requests at 0 seconds
      When alice makes a request at 0.555 seconds
      Then alice is allowed, with 0.66 tokens left
