#!/usr/bin/env bash
# A re-runnable demo of an interactive container, typed into a real terminal through tmux
# (send-keys to type, capture-pane to read the screen). Run as root: bash scripts/demo-interactive.sh
set -euo pipefail
sock="/var/tmp/conman-demo-$$.sock"
t() { tmux -S "$sock" "$@"; }
wait_for() {  # wait until the screen shows $1 (a regular expression)
    for _ in $(seq 100); do t capture-pane -p | grep -qE -- "$1" && return 0; sleep 0.1; done
    echo "demo: did not see '$1'" >&2; t capture-pane -p >&2; return 1
}
type_line() { t send-keys -l "$1"; t send-keys Enter; }
trap 't kill-server 2>/dev/null; rm -f "$sock"' EXIT

t new-session -d -x 90 -y 24 "env SHELL=/bin/sh conman sandbox shell"
wait_for "^#"
type_line "PS1='host# '"
wait_for "^host#"

type_line "conman image import busybox >/dev/null"
type_line "conman run -it --rm --name demo busybox sh"
wait_for "^/ #"
type_line 'echo $((6*7)); stty size'
wait_for "24 90"
t send-keys C-p C-q                                   # detach: the container keeps running
wait_for "read escape sequence"
type_line "conman ps | cut -c1-75"
wait_for " Up "
type_line "conman attach demo"
sleep 1                                               # until conman has the terminal in raw mode
type_line 'echo back again'
wait_for "^back again"
type_line "exit 5"
sleep 1
type_line 'echo "conman exited $?"'
wait_for "conman exited [0-9]+$"


t capture-pane -p | sed '/^$/d'
type_line exit
