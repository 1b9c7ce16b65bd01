@stage7_guest_config
Feature: Stage 7 - the guest configuration on both Xen hosts
  The guest's configuration (kernel, ramdisk, disk, bridge) is written on
  the migration source and copied to the destination, as the article does
  with scp.

  Background:
    Given the lab inventory names the iSCSI target and two Xen hosts

  Scenario: The guest configuration is identical on both Xen hosts and names what exists
    Given the guest configuration is written on each Xen host
    Then the guest configuration is identical on both Xen hosts
    And the guest configuration holds the inventory's guest name and memory
    And every path the guest configuration names exists on each Xen host
    And a guest network interface without a fixed MAC is reported
