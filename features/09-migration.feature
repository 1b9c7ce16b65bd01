@stage9_migration @migration
Feature: Stage 9 - live migration, proven live and measured
  The guest runs on the migration source with its address set through its
  console, as in the article. It moves live to the destination and back, so
  a run ends with the guest where it started. Live means more than "it
  answers at its address on the destination": its uptime kept growing, a
  value written into its memory before the move is read back after it, and
  the iSCSI target, a third host on the lab network, measures the network
  gap with a ping every 5 ms.

  Background:
    Given the lab inventory names the iSCSI target and two Xen hosts
    And the guest runs on the migration source with its address set through its console

  Scenario Outline: The guest moves live to the destination and back (round <round>)
    # Checked before anything moves: a broken prerequisite fails here, and no
    # migration is attempted.
    Given the bridge exists under the same name on both Xen hosts
    And the guest's disk is present and identical on the migration destination
    And the migration destination has free memory for the guest's configured memory
    And Xen can move the guest live between the two hosts, or why not is reported
    And the relocation path from the migration source to the destination works
    And no domain of the guest's name exists on the migration destination
    When the guest is migrated live from the migration source to the migration destination
    Then the guest is gone from the migration source and runs on the migration destination
    And the guest kept its address and its MAC
    And the guest was not rebooted and kept what was written in its memory
    And the network gap stayed within the inventory's downtime limit
    And nothing of the guest was left behind on either host, and it runs once
    When the guest is migrated live from the migration destination to the migration source
    Then the guest is gone from the migration destination and runs on the migration source
    And the guest kept its address and its MAC
    And the guest was not rebooted and kept what was written in its memory
    And the network gap stayed within the inventory's downtime limit
    And nothing of the guest was left behind on either host, and it runs once

    Examples:
      | round |
      | 1     |

  # The data check: opt-in (--guest-data=DIR, a directory of the guest on a disk of its own).
  # With it this outline runs instead of the one above: the same moves and proofs, and the
  # guest writes to its disk throughout each move; after it, what it wrote must be there.
  @data
  Scenario Outline: The guest moves live there and back and keeps what it wrote to its disk (round <round>)
    Given the bridge exists under the same name on both Xen hosts
    And the guest's disk is present and identical on the migration destination
    And the disk the guest writes to is one both Xen hosts may write
    And the migration destination has free memory for the guest's configured memory
    And Xen can move the guest live between the two hosts, or why not is reported
    And the relocation path from the migration source to the destination works
    And no domain of the guest's name exists on the migration destination
    When the guest is migrated live from the migration source to the migration destination
    Then the guest is gone from the migration source and runs on the migration destination
    And the guest kept its address and its MAC
    And the guest was not rebooted and kept what was written in its memory
    And what the guest wrote to its disk before and during the move reads back whole
    And the network gap stayed within the inventory's downtime limit
    And nothing of the guest was left behind on either host, and it runs once
    When the guest is migrated live from the migration destination to the migration source
    Then the guest is gone from the migration destination and runs on the migration source
    And the guest kept its address and its MAC
    And the guest was not rebooted and kept what was written in its memory
    And what the guest wrote to its disk before and during the move reads back whole
    And the network gap stayed within the inventory's downtime limit
    And nothing of the guest was left behind on either host, and it runs once

    Examples:
      | round |
      | 1     |

  # The failure drill: opt-in (-m drill), verify-safe. The migration's stream is cut
  # once a quarter of the guest's memory has gone through it; the guest must run on at
  # the source as if nothing happened, and the destination keep nothing of it.
  @drill
  Scenario: A live migration cut part-way leaves the guest running where it was
    Given the bridge exists under the same name on both Xen hosts
    And the migration destination has free memory for the guest's configured memory
    And the relocation path from the migration source to the destination works
    And no domain of the guest's name exists on the migration destination
    When the guest's live migration to the migration destination is cut part-way
    Then the migration failed and the guest runs on the migration source only
    And the guest kept its address and its MAC
    And the guest was not rebooted and kept what was written in its memory
    And the network gap stayed within the inventory's downtime limit
    And nothing of the guest was left behind on either host, and it runs once
