@stage8_relocation
Feature: Stage 8 - the relocation path between the Xen hosts
  With xm (Xen <= 4.4), xend's relocation server listens on each host's
  lab address; with xl (Xen >= 4.5) there is no relocation server: `xl
  migrate` runs `xl migrate-receive` on the destination over root SSH.

  Background:
    Given the lab inventory names the iSCSI target and two Xen hosts

  Scenario: The migration source can hand the guest to the destination, and back
    Given the relocation path is set up between the Xen hosts
    Then each Xen host reaches the other's relocation service
    And an open relocation service is reported
