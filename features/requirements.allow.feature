@REQ-RL-001
Feature: A request that finds a whole token is allowed
  Every request costs one token. When a user's bucket, once refilled, holds
  one token or more, the request goes through: one token is taken and the
  answer tells how many tokens are left.

  Background:
    Given by default buckets hold up to 5 tokens and refill at 1 token per second

  Rule: one token or more after refill means ALLOW, and one token fewer

    Scenario: alice's first request leaves 4 of her 5 tokens
      When alice makes a request at 0 seconds
      Then alice is allowed, with 4 tokens left

    Scenario: each allowed request takes exactly one token
      When these requests are made:
        | user  | time |
        | alice | 0    |
        | alice | 0    |
        | alice | 0    |
      Then the answers are:
        | user  | time | decision | remaining | retry after |
        | alice | 0    | ALLOW    | 4.0       |             |
        | alice | 0    | ALLOW    | 3.0       |             |
        | alice | 0    | ALLOW    | 2.0       |             |

    Scenario: the last whole token is still handed out
      Given alice has made 4 requests at 0 seconds
      When alice makes a request at 0 seconds
      Then alice is allowed, with 0 tokens left

    Scenario: a token and a half is enough, and half a token stays behind
      Given alice has made 5 requests at 0 seconds
      When alice makes a request at 1.5 seconds
      Then alice is allowed, with 0.5 tokens left
