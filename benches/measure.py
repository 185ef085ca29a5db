"""One command's cost for the benches: wall time, and the CPU time and peak memory of that
child alone (its own rusage, from wait4), so neither the bench's own Python nor earlier
commands count. `python3 benches/measure.py CMD...` prints the median of 3 runs by wall time
as "<wall s> <CPU s> <peak KiB>"."""

import os
import subprocess
import sys
import time


def measure(cmd):
    """(wall seconds, CPU seconds, peak KiB) of `cmd`, its output discarded; a failure stops
    the bench with the command's stderr."""
    start = time.monotonic()
    child = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    err = child.stderr.read().decode(errors="replace")
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.monotonic() - start
    child.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{err}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss


if __name__ == "__main__":
    runs = sorted(measure(sys.argv[1:]) for _ in range(3))
    wall, cpu, peak = runs[1]
    print(f"{wall:.3f} {cpu:.3f} {peak}")
