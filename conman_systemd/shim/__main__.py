"""The shim's entry: `python3 -I -S <this file> VERB ...`, as the container's unit runs it.

-I -S keep Python's start-up to the minimum (no site, no environment), which also leaves the
package's own directory off sys.path: put it there. `python3 -m conman_systemd.shim` works too.
"""

import os
import sys

if not __package__:
    sys.path.insert(0, __file__.rsplit("/", 3)[0])

from conman_systemd.shim.main import main  # noqa: E402

# os._exit: the shim writes nothing buffered (its words go to the journal as datagrams), and the
# interpreter's teardown would only delay the container's unit on every start and stop.
os._exit(main(sys.argv[1:]))
