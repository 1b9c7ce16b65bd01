@stage2_initiators
Feature: Stage 2 - both Xen hosts log in to the iSCSI target
  open-iscsi on each Xen host discovers the target and logs in; the LUN
  appears as the shared disk on both hosts, and it is the same disk.

  Background:
    Given the lab inventory names the iSCSI target and two Xen hosts

  Scenario: Each Xen host has a session to the target and sees the shared disk
    Given each Xen host is logged in to the iSCSI target
    Then each Xen host has a logged-in session to the target's portal
    And each Xen host sees the LUN as the shared disk
    And both Xen hosts see the same disk, the one the iSCSI target exports
    And a login that a reboot of a Xen host would lose is reported
