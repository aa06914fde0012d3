# Run the rest of the command line only when there is something to do; spares starting Python.
# Used by the container units (core/unit.py), whose command lines may hold neither `$` nor `;`:
# systemd 252 cannot read those back from the transient unit file after a daemon-reload.
#   sh when.sh mainpid CMD...   run CMD only if $MAINPID is set (ExecStop: the container still runs)
#   sh when.sh dir DIR CMD...   run CMD only if DIR exists (ExecStopPost: nobody cleaned up yet)
case "$1" in
    mainpid) [ -n "$MAINPID" ] || exit 0; shift ;;
    dir) [ -d "$2" ] || exit 0; shift 2 ;;
    *) echo "when.sh: unknown condition $1" >&2; exit 2 ;;
esac
exec "$@"
