@stage3_partition
Feature: Stage 3 - a partition and a filesystem on the shared disk
  Done once, from the migration source: one partition of the inventory's
  size and type, formatted with the inventory's filesystem. Creating it
  destroys what the disk held, so build mode needs --allow-destructive and
  refuses a disk that holds anything else.

  Background:
    Given the lab inventory names the iSCSI target and two Xen hosts

  @destructive
  Scenario: The shared disk holds the shared partition, seen alike by both Xen hosts
    Given the shared disk is partitioned and formatted from the migration source
    Then each Xen host sees the shared partition with its type, size and filesystem
    And the shared partition has the same size on both Xen hosts
