#!/bin/sh
# Runs in the booted Debian guest at each boot (guest-test.service), then powers the guest off.
# Boot 1 installs the package and makes containers; boot 2 (the "reboot") checks they came back,
# purges the package and checks that nothing of conman is left. Results: /root/results.
# Each check writes one line "NAME=VALUE" to /root/results/bootN.txt; the test reads them.
set -u
out=/root/results
mkdir -p "$out"
if [ ! -e "$out/boot1.done" ]; then boot=1; else boot=2; fi
exec >"$out/boot$boot.log" 2>&1
set -x
say() { echo "$1=$2" >>"$out/boot$boot.txt"; }
export DEBIAN_FRONTEND=noninteractive PATH=/usr/sbin:/usr/bin:/sbin:/bin

if [ "$boot" = 1 ]; then
    say hosts_file "$(test -e /etc/hosts && echo present || echo absent)"
    apt-get update -q
    # runc too: where crun cannot start containers (see below), the check points to it.
    apt-get install -y -q /root/conman.deb runc && say install ok
    # The guest shares the build machine's network: its containers must too (a bridge would
    # change the machine's interfaces and firewall).
    mkdir -p /etc/conman
    echo "network = host" >/etc/conman/conman.conf
    if conman system check >/dev/null 2>"$out/check.err"; then
        say check ok
    else
        say check "$(cat "$out/check.err")"
        echo "runtime = runc" >>/etc/conman/conman.conf  # what the check said to do
    fi
    say check_after "$(conman system check >/dev/null 2>&1 && echo ok || echo failed)"
    say hello "$(conman run --rm busybox echo hello)"
    say hosts_in_container "$(conman run --rm --hostname box busybox grep -c box /etc/hosts)"
    conman run -d --name always --restart always busybox sleep 100000
    conman run -d --name unless --restart unless-stopped busybox sleep 100000
    conman run -d --name plain busybox sleep 100000
    mkdir -p /etc/conman/containers
    cat >/etc/conman/containers/web.container <<'DEF'
[Container]
Image=busybox
Exec=sh -c 'echo hi >/tmp/index.html && exec httpd -f -p 127.0.0.1:38617 -h /tmp'
Restart=always

[Install]
WantedBy=multi-user.target
DEF
    systemctl daemon-reload
    systemctl start web.service && say declared_start ok
    say declared_ps "$(conman ps --filter name=web --format '{{.Names}}')"
    touch "$out/boot1.done"
else
    # Boot starts them; this unit is not ordered after them (an ordering would keep conman's
    # units loaded after the purge): their start is polled for, with a deadline.
    for unit in conman-restart.service web.service; do
        for _ in $(seq 300); do
            case "$(systemctl is-active "$unit")" in active|failed) break;; esac
            sleep 0.1
        done
    done
    say restart_unit "$(systemctl is-active conman-restart.service)"
    say web_unit "$(systemctl is-active web.service)"
    say running "$(conman ps --format '{{.Names}}' | sort | tr '\n' ' ')"
    say web_answers "$(busybox wget -q -O - http://127.0.0.1:38617/index.html)"
    systemctl stop web.service
    rm /etc/conman/containers/web.container
    systemctl daemon-reload
    say web_after_removal "$(systemctl show -p LoadState --value web.service)"
    apt-get purge -y -q conman && say purge ok
    systemctl daemon-reload
    say left_dirs "$(ls -d /var/lib/conman /run/conman /etc/conman 2>/dev/null | tr '\n' ' ')"
    say left_units "$(systemctl list-units --all --plain --no-legend 'conman*' | awk '{print $1 "(" $2 "," $3 ")"}' | tr '\n' ' ')"
    say left_processes "$(cat /proc/[0-9]*/comm 2>/dev/null | grep -c -e '^sleep$' -e '^httpd$')"
    touch "$out/boot2.done"
fi
