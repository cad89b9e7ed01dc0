@cli @replay
Feature: limiter replay streams a request log through a limiter
  `limiter replay TRACE --config FILE` reads a request log one record at a
  time, in JSON Lines, CSV or TSV (--format), and prints one answer line per
  record, exactly as a scenario would. --user-field and --time-field name the
  fields that hold the user and the time when they are not "user" and "time".
  With --summary it prints one JSON object of totals instead, listing the
  users denied most often (ten, or --top N). A bad record stops the replay
  with exit status 1 and one line on stderr naming its line number; the
  answers already printed stay on stdout.

  This is an extension of the specification: the rules of every answer are
  those of the requirements, only the input and output are new.

  Background:
    Given a file "config.json" containing:
      """
      {"default": {"capacity": 2, "refill_rate": 1}}
      """

  Scenario: a JSON Lines log is answered record by record
    Given a file "trace.jsonl" containing:
      """
      {"user": "alice", "time": 0}
      {"user": "alice", "time": 0}
      {"user": "bob", "time": 0}
      {"user": "alice", "time": 0}
      {"user": "alice", "time": 0.5}
      """
    When I run `limiter replay trace.jsonl --config config.json --format jsonl`
    Then it exits with status 0
    And stdout has these answers:
      | user  | time | decision | remaining | retry after |
      | alice | 0    | ALLOW    | 1.0       |             |
      | alice | 0    | ALLOW    | 0.0       |             |
      | bob   | 0    | ALLOW    | 1.0       |             |
      | alice | 0    | DENY     | 0.0       | 1.0         |
      | alice | 0.5  | DENY     | 0.5       | 0.5         |
    And every answer line has its keys in the order of the contract

  Scenario: a CSV log names its own fields for the user and the time
    Given a file "access.csv" containing:
      """
      host,seconds,path
      alice,10,/index.html
      alice,10,/style.css
      alice,10,/logo.png
      bob,11,/index.html
      alice,11.25,/index.html
      """
    When I run `limiter replay access.csv --config config.json --format csv --user-field host --time-field seconds`
    Then it exits with status 0
    And stdout has these answers:
      | user  | time  | decision | remaining | retry after |
      | alice | 10    | ALLOW    | 1.0       |             |
      | alice | 10    | ALLOW    | 0.0       |             |
      | alice | 10    | DENY     | 0.0       | 1.0         |
      | bob   | 11    | ALLOW    | 1.0       |             |
      | alice | 11.25 | ALLOW    | 0.25      |             |

  Scenario: a TSV log, with fields the replay is not asked for
    Given a file "access.tsv" containing:
      """
      user	time	method	status
      alice	0	GET	200
      alice	0	GET	304
      alice	0	GET	200
      """
    When I run `limiter replay access.tsv --config config.json --format tsv`
    Then it exits with status 0
    And stdout has these answers:
      | user  | time | decision | remaining | retry after |
      | alice | 0    | ALLOW    | 1.0       |             |
      | alice | 0    | ALLOW    | 0.0       |             |
      | alice | 0    | DENY     | 0.0       | 1.0         |

  Rule: --summary prints the totals and the users denied most often

    Background:
      Given a file "trace.jsonl" containing:
        """
        {"user": "alice", "time": 0}
        {"user": "alice", "time": 0}
        {"user": "bob", "time": 0}
        {"user": "alice", "time": 0}
        {"user": "alice", "time": 0.5}
        {"user": "alice", "time": 1}
        {"user": "carol", "time": 3}
        {"user": "carol", "time": 3}
        {"user": "carol", "time": 3}
        """

    Scenario: nine requests from three users, two of them throttled
      When I run `limiter replay trace.jsonl --config config.json --format jsonl --summary`
      Then it exits with status 0
      And stdout is one summary, with these totals:
        | requests | allowed | denied | users | throttled users |
        | 9        | 6       | 3      | 3     | 2               |
      And the most throttled users are:
        | user  | denied | requests | first denied at |
        | alice | 2      | 5        | 0               |
        | carol | 1      | 3        | 3               |

    Scenario: --top 1 lists only the user denied most often
      When I run `limiter replay trace.jsonl --config config.json --format jsonl --summary --top 1`
      Then it exits with status 0
      And stdout is one summary, with these totals:
        | requests | allowed | denied | users | throttled users |
        | 9        | 6       | 3      | 3     | 2               |
      And the most throttled users are:
        | user  | denied | requests | first denied at |
        | alice | 2      | 5        | 0               |

  Rule: a bad record stops the replay, after the answers before it

    Scenario Outline: <problem> on line 3 of a JSON Lines log
      Given a file "trace.jsonl" containing:
        """
        {"user": "alice", "time": 0}
        {"user": "alice", "time": 1}
        <record>
        {"user": "alice", "time": 2}
        """
      When I run `limiter replay trace.jsonl --config config.json --format jsonl`
      Then it exits with status 1
      And stderr is one line, with no traceback
      And that line names line 3 of "trace.jsonl"
      And stdout has these answers:
        | user  | time | decision | remaining | retry after |
        | alice | 0    | ALLOW    | 1.0       |             |
        | alice | 1    | ALLOW    | 1.0       |             |

      Examples:
        | problem          | record                            |
        | a negative time  | {"user": "alice", "time": -1}     |
        | words for a time | {"user": "alice", "time": "soon"} |
        | no user          | {"time": 1}                       |
        | an empty user    | {"user": "", "time": 1}           |
        | broken JSON      | {"user": "alice", "time":         |

    Scenario: words for a time on line 4 of a CSV log, after its header
      Given a file "trace.csv" containing:
        """
        user,time
        alice,0
        alice,1
        alice,soon
        alice,2
        """
      When I run `limiter replay trace.csv --config config.json --format csv`
      Then it exits with status 1
      And stderr is one line, with no traceback
      And that line names line 4 of "trace.csv"
      And stdout has these answers:
        | user  | time | decision | remaining | retry after |
        | alice | 0    | ALLOW    | 1.0       |             |
        | alice | 1    | ALLOW    | 1.0       |             |
