@REQ-RL-006
Feature: A user's first request finds a full bucket
  There is no bucket for a user until they first make a request. At that
  moment it is created full, with the user's own capacity if the
  configuration names them, or else the default one.

  Background:
    Given by default buckets hold up to 5 tokens and refill at 1 token per second
    And alice's bucket holds up to 10 tokens and refills at 2 tokens per second

  Rule: the first request creates the bucket full, with own or default settings

    Scenario: charlie, never seen before, starts with the default 5 tokens
      When charlie makes a request at 0 seconds
      Then charlie is allowed, with 4 tokens left

    Scenario: alice, named in the configuration, starts with her own 10 tokens
      When alice makes a request at 0 seconds
      Then alice is allowed, with 9 tokens left

    Scenario: a user first seen late starts full all the same
      When charlie makes a request at 3600 seconds
      Then charlie is allowed, with 4 tokens left

    Scenario: the bucket's clock starts at the first request
      Given charlie has made 5 requests at 60 seconds
      When charlie makes a request at 60.5 seconds
      Then charlie is denied, with 0.5 tokens left and a retry after 0.5 seconds
