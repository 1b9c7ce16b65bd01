@stage5_bridge
Feature: Stage 5 - bridge networking on both Xen hosts
  The lab NIC is enslaved to the bridge and the host's lab address moves
  to the bridge; the bridge has the same name on both hosts, as migration
  needs.

  Background:
    Given the lab inventory names the iSCSI target and two Xen hosts

  Scenario: Each Xen host carries its lab address on the bridge
    Given each Xen host has its lab address on the bridge
    Then each Xen host has the bridge up with its lab address and the lab NIC enslaved
    And the Xen hosts reach each other over the bridge
    And a bridge that a reboot of a Xen host would lose is reported
