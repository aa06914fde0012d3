"""The shim's entry: `python3 -I -S <this file> VERB ...`, as the container's unit runs it.

-I -S keep Python's start-up to the minimum (no site, no environment), which also leaves the
package's own directory off sys.path: put it there. `python3 -m conman_systemd.shim` works too.
"""

import sys

if not __package__:
    sys.path.insert(0, __file__.rsplit("/", 3)[0])

from conman_systemd.shim.main import main  # noqa: E402

sys.exit(main(sys.argv[1:]))
