@REQ-RL-002
Feature: A request that finds less than a whole token is denied
  When a user's bucket, once refilled, holds less than one token, the request
  is turned down and nothing is taken. The answer tells what the bucket holds
  and how long until it holds a whole token again: one token less what it
  holds, divided by the refill rate.

  Rule: under one token after refill means DENY, nothing taken, a retry after

    Scenario: with half a token at 1 token per second, come back in half a second
      Given by default buckets hold up to 5 tokens and refill at 1 token per second
      And alice has made 5 requests at 0 seconds
      When alice makes a request at 0.5 seconds
      Then alice is denied, with 0.5 tokens left and a retry after 0.5 seconds

    Scenario: a denied request takes nothing, so waiting the retry after is enough
      Given by default buckets hold up to 5 tokens and refill at 1 token per second
      And alice has made 5 requests at 0 seconds
      When these requests are made:
        | user  | time |
        | alice | 0.5  |
        | alice | 0.5  |
        | alice | 0.75 |
        | alice | 1    |
      Then the answers are:
        | user  | time | decision | remaining | retry after |
        | alice | 0.5  | DENY     | 0.5       | 0.5         |
        | alice | 0.5  | DENY     | 0.5       | 0.5         |
        | alice | 0.75 | DENY     | 0.75      | 0.25        |
        | alice | 1    | ALLOW    | 0         |             |

    Scenario Outline: an empty bucket refilled at <rate> is full again in <wait>
      Given by default buckets hold up to 1 token and refill at <rate>
      And alice has made a request at 0 seconds
      When alice makes a request at 0 seconds
      Then alice is denied, with 0 tokens left and a retry after <wait>

      Examples:
        | rate                  | wait         |
        | 1 token per second    | 1 second     |
        | 2 tokens per second   | 0.5 seconds  |
        | 4 tokens per second   | 0.25 seconds |
        | 0.5 tokens per second | 2 seconds    |
