@stage1_target
Feature: Stage 1 - the iSCSI target exports the shared LUN
  The iSCSI target runs tgtd and exports one LUN, backed by the inventory's
  backing store, to the lab network only (the article's targets.conf).

  Background:
    Given the lab inventory names the iSCSI target and two Xen hosts

  Scenario: The iSCSI target exports the shared LUN to the lab network
    Given the iSCSI target is configured with the shared LUN
    Then the iSCSI target lists the shared LUN as a disk of non-zero size
    And the target's access list admits the lab network
    And the iSCSI target listens on the iSCSI port
    And weak access control on the iSCSI target is reported
