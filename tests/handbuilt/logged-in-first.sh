# Hand-built lab 2: both Xen hosts log in before the shared disk is partitioned; test2
# re-reads the partition table before test1 formats it, so test2's udev database keeps
# "no filesystem" for the partition (the disk itself says ext4). The target defined live
# with tgtadm only (nothing in targets.conf); the bridge from an ifupdown stanza of the
# student's own brought up with ifup; the guest configuration in xl's modern disk syntax
# with a fixed MAC. test2's student made the login and the mount survive a reboot (in their
# spelling: the device name in fstab); test1's did not.
# steps: target:export test1:login test2:login test1:partition test2:reread test1:format test1:bridge_ifupdown test2:bridge_ifupdown test1:mount_shared test2:mount_shared test2:persist test1:busybox_image test2:remount_shared test1:guest_config test2:guest_config test1:ssh_key test2:ssh_key test1:trust test2:trust test1:start_guest

export_() {  # stage 1 with tgtadm alone
    systemctl start tgt
    tgtadm --lld iscsi --op new --mode target --tid 1 -T "$IQN"
    tgtadm --lld iscsi --op new --mode logicalunit --tid 1 --lun 1 -b "$BACKING"
    tgtadm --lld iscsi --op bind --mode target --tid 1 -I "$NET/$PREFIX"
}

bridge_ifupdown() {  # stage 5 as a Debian admin writes it: a stanza of one's own, then ifup
    ifdown "$PORT"
    sed -i 's/^auto '"$PORT"'$/#&/; s/^iface '"$PORT"' inet static$/#&/; s/^    address /#&/' \
        /etc/network/interfaces.d/"$PORT"
    cat > /etc/network/interfaces.d/lab-bridge <<EOT
# the lab bridge (student)
iface $PORT inet manual

auto $BRIDGE
iface $BRIDGE inet static
    address $MY_IP/$PREFIX
    bridge_ports $PORT
    bridge_stp off
    bridge_fd 0
EOT
    ifup "$BRIDGE"
}

guest_config() {  # stage 7 in xl's own syntax, with a fixed MAC
    cat > /etc/xen/busybox <<EOT
# busybox guest (student)
name = '$GUEST'
kernel = '$KERNEL'
ramdisk = '$RAMDISK'
memory = $MEMORY
vcpus = 1
disk = ['format=raw, vdev=xvda, access=rw, target=$IMAGE']
root = '/dev/xvda ro'
extra = 'selinux=0 init=/bin/sh'
vif = ['mac=00:16:3e:51:64:04, bridge=$BRIDGE']
on_crash = 'destroy'
on_reboot = 'destroy'
on_shutdown = 'destroy'
EOT
}

persist() {  # the login at boot, the mount in fstab with _netdev
    iscsiadm -m node -T "$IQN" -p "$TARGET_IP" --op update -n node.startup -v automatic
    echo "$PART $MOUNT ext4 defaults,_netdev 0 0" >> /etc/fstab
}

step=$1; shift
case $step in export) export_ ;; *) "$step" "$@" ;; esac
