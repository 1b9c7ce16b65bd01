@stage4_xen
Feature: Stage 4 - Xen dom0 on both hosts
  Both Xen hosts run the Xen hypervisor with a dom0; the toolstack is
  detected (xm with xend on Xen <= 4.4, xl on Xen >= 4.5).

  Background:
    Given the lab inventory names the iSCSI target and two Xen hosts

  Scenario: Each Xen host runs Xen with Domain-0 and a toolstack that answers
    Then each Xen host answers through its toolstack with Domain-0 listed
    And the migration destination has enough free memory for the guest
    And both Xen hosts run the same Xen version
    And a Xen host that a reboot would start without Xen is reported
