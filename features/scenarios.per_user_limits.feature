@SCN-3
Feature: Spec scenario 3, different limits per user
  premium_user has a bucket of 10 tokens refilled at 5 a second; free_user
  has the default, 5 tokens refilled at 1 a second.

  Scenario: free_user runs dry while premium_user still has tokens to spare
    Given by default buckets hold up to 5 tokens and refill at 1 token per second
    And premium_user's bucket holds up to 10 tokens and refills at 5 tokens per second
    When these requests are made:
      | user         | time |
      | premium_user | 0    |
      | premium_user | 0    |
      | premium_user | 0    |
      | free_user    | 0    |
      | free_user    | 0    |
      | free_user    | 0    |
      | free_user    | 0    |
      | free_user    | 0    |
      | free_user    | 0    |
      | premium_user | 0    |
    Then the answers are:
      | user         | time | decision | remaining | retry after |
      | premium_user | 0    | ALLOW    | 9.0       |             |
      | premium_user | 0    | ALLOW    | 8.0       |             |
      | premium_user | 0    | ALLOW    | 7.0       |             |
      | free_user    | 0    | ALLOW    | 4.0       |             |
      | free_user    | 0    | ALLOW    | 3.0       |             |
      | free_user    | 0    | ALLOW    | 2.0       |             |
      | free_user    | 0    | ALLOW    | 1.0       |             |
      | free_user    | 0    | ALLOW    | 0.0       |             |
      | free_user    | 0    | DENY     | 0.0       | 1.0         |
      | premium_user | 0    | ALLOW    | 6.0       |             |
