@stage6_storage
Feature: Stage 6 - shared storage and the guest image
  The shared partition is mounted on both Xen hosts, and the busybox
  guest image on it is the same file for both.

  Background:
    Given the lab inventory names the iSCSI target and two Xen hosts

  Scenario: Both Xen hosts mount the shared partition and see the same guest image
    Given each Xen host mounts the shared partition
    And the guest image is built on the shared storage from the migration source
    Then each Xen host has the shared partition mounted at the shared mount point
    And both Xen hosts see the same guest image
    And the guest image holds the busybox root and the network driver
    And a non-cluster filesystem mounted on both Xen hosts is reported
    And a mount that a reboot of a Xen host would lose is reported
