@decision
Feature: A request stamped earlier than the one before counts no time
  Requests can arrive out of order, for instance from clocks that disagree.
  We decided that a request stamped earlier than the bucket's latest request
  counts as made at that same instant: the bucket gains nothing for it, and
  the bucket's clock is not wound back, so the time is not counted twice.

  Rule: an earlier time gains nothing and leaves the bucket's clock where it is

    Scenario: alice's requests at 10, 9, 10, 9 and 11 seconds
      Given by default buckets hold up to 1 token and refill at 1 token per second
      When these requests are made:
        | user  | time |
        | alice | 10   |
        | alice | 9    |
        | alice | 10   |
        | alice | 9    |
        | alice | 11   |
      Then the answers are:
        | user  | time | decision | remaining | retry after |
        | alice | 10   | ALLOW    | 0.0       |             |
        | alice | 9    | DENY     | 0.0       | 1.0         |
        | alice | 10   | DENY     | 0.0       | 1.0         |
        | alice | 9    | DENY     | 0.0       | 1.0         |
        | alice | 11   | ALLOW    | 0.0       |             |

    Scenario: a token still in the bucket is taken by an earlier request
      Given by default buckets hold up to 2 tokens and refill at 1 token per second
      When these requests are made:
        | user  | time |
        | alice | 10   |
        | alice | 9    |
        | alice | 9.5  |
        | alice | 11   |
      Then the answers are:
        | user  | time | decision | remaining | retry after |
        | alice | 10   | ALLOW    | 1.0       |             |
        | alice | 9    | ALLOW    | 0.0       |             |
        | alice | 9.5  | DENY     | 0.0       | 1.0         |
        | alice | 11   | ALLOW    | 0.0       |             |
