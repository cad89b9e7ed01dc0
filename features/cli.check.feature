@cli
Feature: limiter check answers one request
  `limiter check --user USER [--time SECONDS]` answers a single request with
  the default bucket, 5 tokens refilled at 1 token a second, and prints the
  answer as one JSON line. Without --time it uses the wall clock.

  Scenario: alice's request at a given time
    When I run `limiter check --user alice --time 0`
    Then it exits with status 0
    And stdout has these answers:
      | user  | time | decision | remaining | retry after |
      | alice | 0    | ALLOW    | 4.0       |             |
    And every answer line has its keys in the order of the contract

  Scenario: the time is echoed as given
    When I run `limiter check --user alice --time 2.5`
    Then it exits with status 0
    And stdout has these answers:
      | user  | time | decision | remaining | retry after |
      | alice | 2.5  | ALLOW    | 4.0       |             |

  Scenario: without a time, the request is made at the wall clock's time
    When I run `limiter check --user alice`
    Then it exits with status 0
    And stdout has one answer, made at the wall clock time of the run:
      | user  | decision | remaining | retry after |
      | alice | ALLOW    | 4.0       |             |

  Scenario Outline: the user id is echoed exactly: <user>
    When I run `limiter check --user '<user>' --time 0`
    Then it exits with status 0
    And stdout has these answers:
      | user   | time | decision | remaining | retry after |
      | <user> | 0    | ALLOW    | 4.0       |             |

    Examples:
      | user            |
      | Alice           |
      | alice smith     |
      | zoë@example.org |
      | user "quoted"   |
