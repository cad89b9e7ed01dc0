@REQ-RL-003
Feature: Buckets refill lazily, up to their capacity
  Nothing runs between requests. When a request arrives, the bucket first
  gains the refill rate times the seconds since its previous request, but
  never more than its capacity, and only then is the request decided.

  Background:
    Given by default buckets hold up to 5 tokens and refill at 1 token per second

  Rule: each request first adds the elapsed seconds times the rate, up to capacity

    Scenario: 3 tokens and 2.5 idle seconds make 5 tokens, not 5.5
      Given alice has made 2 requests at 0 seconds
      When alice makes a request at 2.5 seconds
      Then alice is allowed, with 4 tokens left

    Scenario: part of a token grows back in part of a second
      Given alice has made 5 requests at 0 seconds
      When these requests are made:
        | user  | time |
        | alice | 0.25 |
        | alice | 2.75 |
      Then the answers are:
        | user  | time | decision | remaining | retry after |
        | alice | 0.25 | DENY     | 0.25      | 0.75        |
        | alice | 2.75 | ALLOW    | 1.75      |             |

    Scenario: a long wait banks no more than a full bucket
      Given alice has made 5 requests at 0 seconds
      When these requests are made:
        | user  | time |
        | alice | 100  |
        | alice | 100  |
        | alice | 100  |
        | alice | 100  |
        | alice | 100  |
        | alice | 100  |
      Then the answers are:
        | user  | time | decision | remaining | retry after |
        | alice | 100  | ALLOW    | 4         |             |
        | alice | 100  | ALLOW    | 3         |             |
        | alice | 100  | ALLOW    | 2         |             |
        | alice | 100  | ALLOW    | 1         |             |
        | alice | 100  | ALLOW    | 0         |             |
        | alice | 100  | DENY     | 0         | 1           |

    Scenario: each request counts from the one before it, allowed or denied
      Given alice has made 5 requests at 0 seconds
      When these requests are made:
        | user  | time |
        | alice | 0.5  |
        | alice | 1    |
        | alice | 1.5  |
        | alice | 2    |
      Then the answers are:
        | user  | time | decision | remaining | retry after |
        | alice | 0.5  | DENY     | 0.5       | 0.5         |
        | alice | 1    | ALLOW    | 0         |             |
        | alice | 1.5  | DENY     | 0.5       | 0.5         |
        | alice | 2    | ALLOW    | 0         |             |
