# Hand-built lab 1: the article's order. The target from targets.conf loaded with
# tgt-admin; test1 logs in, partitions and formats, then test2 logs in (it sees the
# formatted partition from the start); the bridge made at runtime with `ip`; the guest
# configuration in the article's own spelling.
# steps: target:export test1:login test1:partition test1:format test2:login test1:bridge_runtime test2:bridge_runtime test1:mount_shared test2:mount_shared test1:busybox_image test2:remount_shared test1:guest_config test2:guest_config test1:ssh_key test2:ssh_key test1:trust test2:trust test1:start_guest

export_() {  # stage 1: the article's targets.conf, loaded into tgtd
    systemctl start tgt
    cat >> /etc/tgt/targets.conf <<EOT
<target $IQN>
    backing-store $BACKING
    initiator-address $NET/$PREFIX
</target>
EOT
    tgt-admin --update ALL
}

guest_config() {  # stage 7, as the article writes it (trailing commas, memory in quotes)
    cat > /etc/xen/busybox <<EOT
kernel ="$KERNEL"
ramdisk ="$RAMDISK"
name = "$GUEST"
memory = "$MEMORY"
vcpus = 1
disk =['file:$IMAGE,xvda,w',]
root = "/dev/xvda ro"
extra = "selinux=0 init=/bin/sh"
vif = ['bridge=$BRIDGE',]
on_crash = "destroy"
on_reboot = "destroy"
on_shutdown = "destroy"
EOT
}

step=$1; shift
case $step in export) export_ ;; *) "$step" "$@" ;; esac
