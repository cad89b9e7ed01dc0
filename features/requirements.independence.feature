@REQ-RL-004
Feature: Every user's bucket is their own
  Users do not share tokens. Whatever one user does, however often and
  whenever, another user's bucket holds exactly what it would hold without it.

  Background:
    Given by default buckets hold up to 3 tokens and refill at 1 token per second

  Rule: one user's requests never change another user's bucket

    Scenario: bob is unaffected by alice emptying her bucket the same instant
      Given alice has made 3 requests at 0 seconds
      When bob makes a request at 0 seconds
      Then bob is allowed, with 2 tokens left

    Scenario: bob's denied requests do not slow alice's recovery
      Given alice has made 3 requests at 0 seconds
      When these requests are made:
        | user  | time |
        | bob   | 0    |
        | bob   | 0    |
        | bob   | 0    |
        | bob   | 0.5  |
        | alice | 1    |
      Then the answers are:
        | user  | time | decision | remaining | retry after |
        | bob   | 0    | ALLOW    | 2         |             |
        | bob   | 0    | ALLOW    | 1         |             |
        | bob   | 0    | ALLOW    | 0         |             |
        | bob   | 0.5  | DENY     | 0.5       | 0.5         |
        | alice | 1    | ALLOW    | 0         |             |

    Scenario: user ids are told apart exactly, so Alice is not alice
      Given alice has made 3 requests at 0 seconds
      When these requests are made:
        | user   | time |
        | Alice  | 0    |
        | alice  | 0    |
        | alice. | 0    |
      Then the answers are:
        | user   | time | decision | remaining | retry after |
        | Alice  | 0    | ALLOW    | 2         |             |
        | alice  | 0    | DENY     | 0         | 1           |
        | alice. | 0    | ALLOW    | 2         |             |
