@decision
Feature: A configuration that makes no sense is refused before any request
  A bucket needs room for at least one whole token, or no request could ever
  be allowed, and it must refill, or an empty bucket would stay empty for
  ever. A setting whose name is misspelt is refused as well, rather than
  quietly left at some default. The refusal says which setting is wrong.

  Rule: capacity is at least 1 token and the refill rate more than 0

    Scenario Outline: a bucket of <capacity> refilled at <rate> is refused
      Given by default buckets hold up to <capacity> and refill at <rate>
      When alice makes a request at 0 seconds
      Then the configuration is refused, naming the <setting>

      Examples:
        | capacity   | rate                 | setting     |
        | 0 tokens   | 1 token per second   | capacity    |
        | 0.5 tokens | 1 token per second   | capacity    |
        | -1 tokens  | 1 token per second   | capacity    |
        | 5 tokens   | 0 tokens per second  | refill rate |
        | 5 tokens   | -1 tokens per second | refill rate |

    Scenario: a user's own bucket is held to the same rules
      Given by default buckets hold up to 5 tokens and refill at 1 token per second
      And alice's bucket holds up to 0.5 tokens and refills at 1 token per second
      When bob makes a request at 0 seconds
      Then the configuration is refused, naming "alice"

    Scenario: the smallest bucket, 1 token, is accepted
      Given by default buckets hold up to 1 token and refill at 0.5 tokens per second
      When alice makes a request at 0 seconds
      Then alice is allowed, with 0 tokens left

  Rule: a misspelt setting is refused, naming it

    Scenario: refill rate written as "refil_rate"
      Given by default buckets hold up to 5 tokens and refill at 1 token per second
      And the default bucket's refill rate is misspelt "refil_rate"
      When alice makes a request at 0 seconds
      Then the configuration is refused, naming "refil_rate"
