@stage1_target
Feature: Stage 1 - the iSCSI target exports the shared LUN
  The iSCSI target exports one LUN, backed by the inventory's backing store, to
  the Xen hosts only: with tgt (the article's targets.conf, an ACL for the lab
  network) or LIO (targetcli, an ACL for each Xen host's initiator name).

  Background:
    Given the lab inventory names the iSCSI target and two Xen hosts

  Scenario: The iSCSI target exports the shared LUN to the lab network
    Given the iSCSI target is configured with the shared LUN
    Then the iSCSI target lists the shared LUN as a disk of non-zero size
    And the target's access list admits the Xen hosts
    And the iSCSI target listens on the iSCSI port
    And weak access control on the iSCSI target is reported
    And an export that a reboot of the target would lose is reported
