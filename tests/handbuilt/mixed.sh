# Hand-built lab 3: the target in a conf.d file of its own, tgt restarted to read it;
# both hosts log in first and re-read the table only after it is formatted; the bridge
# from an ifupdown stanza brought up with ifup; the guest configuration in the article's
# spelling.
# steps: target:export test1:login test2:login test1:partition test1:format test2:reread test1:bridge_ifupdown test2:bridge_ifupdown test1:mount_shared test2:mount_shared test1:busybox_image test2:remount_shared test1:guest_config test2:guest_config test1:ssh_key test2:ssh_key test1:trust test2:trust test1:start_guest

export_() {  # stage 1: a conf.d file, read when tgt starts
    cat > /etc/tgt/conf.d/lab.conf <<EOT
<target $IQN>
    backing-store $BACKING
    initiator-address $NET/$PREFIX
</target>
EOT
    systemctl restart tgt
}

bridge_ifupdown() {  # the box's own eth0 file turned into the bridge's (one file, edited)
    ifdown "$PORT"
    cat > /etc/network/interfaces.d/"$PORT" <<EOT
iface $PORT inet manual

auto $BRIDGE
iface $BRIDGE inet static
    address $MY_IP/$PREFIX
    bridge_ports $PORT
EOT
    ifup "$BRIDGE"
}

guest_config() {
    cat > /etc/xen/busybox <<EOT
kernel = "$KERNEL"
ramdisk = "$RAMDISK"
name = "$GUEST"
memory = "$MEMORY"
vcpus = 1
disk = ['file:$IMAGE,xvda,w']
root = "/dev/xvda ro"
extra = "selinux=0 init=/bin/sh"
vif = ['bridge=$BRIDGE']
on_crash = "destroy"
on_reboot = "destroy"
on_shutdown = "destroy"
EOT
}

step=$1; shift
case $step in export) export_ ;; *) "$step" "$@" ;; esac
