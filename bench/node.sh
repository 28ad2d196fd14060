#!/bin/sh
# bench/node.sh: the node backend's latencies (bench/node.py): new tip ->
# every worker on the new template (2 and 100 simulated workers, 100 tips),
# winning hash -> submitblock sent.  Debian's python3 (grpcio).
exec "${PYTHON3:-/usr/bin/python3}" "$COOPMINE_SRCDIR/bench/node.py"
