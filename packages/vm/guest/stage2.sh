#!/bin/sh
# Stage 2 of the VM: PID 1 after switch_root, run by the host's /bin/busybox sh.
# Sets a clean environment, runs the node guest driver (next to this file) on the work share
# (/mnt), then reports the driver's exit status through isa-debug-exit (qemu exits with
# 2*rc+1) and powers off. If the port write fails, poweroff still ends qemu (with status 0).
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8
# No auditd: kauditd prints the records itself, through printk_ratelimit(): switch it off.
echo 0 > /proc/sys/kernel/printk_ratelimit
cd /
read -r up _ < /proc/uptime
echo "AAM-STAGE2-START uptime=${up}s"
NODE=${AAM_NODE:-node}
"$NODE" "${0%/*}/guest.cjs" /mnt
rc=$?
echo "AAM-STAGE2-EXIT=$rc"
sync
printf "\\$(printf %o "$rc")" | dd of=/dev/port bs=1 seek=244 count=1 2>/dev/null
/bin/busybox poweroff -f
