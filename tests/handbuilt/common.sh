# The article's commands, translated to xl and Debian 12, shared by the hand-built labs.
# A step runs on a host as `cat common.sh VARIANT.sh | sh -s STEP [ARGS]` (the runner sends
# both over SSH). Every value comes from the environment the runner sets from
# the box's inventory (IQN, TARGET_IP, NET, PREFIX, BACKING, MY_IP, DISK, PART, MOUNT,
# IMAGE, MODULE, KERNEL, RAMDISK, GUEST, MEMORY, BRIDGE, PORT). No xenlab code here.
set -eu

login() {  # stage 2: discover the target, log in
    systemctl start iscsid
    iscsiadm -m discovery -t st -p "$TARGET_IP"
    iscsiadm -m node -T "$IQN" -p "$TARGET_IP" -l
    udevadm settle
}

partition() {  # stage 3, part 1: one 2 GB primary partition, type 83, as fdisk asks it
    printf 'n\np\n1\n\n+2G\nt\n83\nw\n' | fdisk "$DISK"
}

format() {  # stage 3, part 2
    mke2fs -t ext4 "$PART"
}

reread() {  # the other host learns the new partition table
    blockdev --rereadpt "$DISK"
    udevadm settle
}

mount_shared() {  # stage 6: the shared partition on /scsistore
    mkdir -p "$MOUNT"
    mount "$PART" "$MOUNT"
}

remount_shared() {  # ext4 is no cluster filesystem: the other host sees the image after this
    umount "$MOUNT"
    mount "$PART" "$MOUNT"
}

busybox_image() {  # stage 6: a 1 GB sparse ext4 image holding a busybox root
    dd if=/dev/zero of="$IMAGE" bs=1M count=1 seek=1023
    mke2fs -F -t ext4 "$IMAGE"
    mkdir -p /mnt/bb
    mount -o loop "$IMAGE" /mnt/bb
    cd /mnt/bb
    mkdir -p bin sbin usr/bin usr/sbin dev proc sys lib/modules etc/rc.d boot mnt media opt misc
    cd /
    cp /bin/busybox /mnt/bb/bin/busybox
    mount -t proc proc /mnt/bb/proc  # busybox --install finds itself through /proc
    chroot /mnt/bb /bin/busybox --install -s
    umount /mnt/bb/proc
    rm -f /mnt/bb/linuxrc  # the article: rm linuxrc
    cp "$MODULE" /mnt/bb/lib/modules/
    umount /mnt/bb
    sync
}

bridge_runtime() {  # stage 5 with ip, as a student types it (gone after a reboot)
    ip link add "$BRIDGE" type bridge
    ip link set "$PORT" master "$BRIDGE"
    ip addr flush dev "$PORT"
    ip addr add "$MY_IP/$PREFIX" dev "$BRIDGE"
    ip link set "$BRIDGE" up
}

ssh_key() {  # stage 8 (xl): root's key, printed for the other host
    test -f /root/.ssh/id_rsa || ssh-keygen -q -t rsa -N '' -f /root/.ssh/id_rsa
    cat /root/.ssh/id_rsa.pub
}

trust() {  # stage 8 (xl): let the other host's root in ($1: its key, $2: its lab address)
    echo "$1" >> /root/.ssh/authorized_keys
    ssh-keyscan -t ed25519 "$2" >> /root/.ssh/known_hosts 2>/dev/null
}

start_guest() {  # stage 9: the article's `xm create`; its address is typed on its console
    xl create /etc/xen/busybox
}
