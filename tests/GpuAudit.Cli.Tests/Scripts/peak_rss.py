#!/usr/bin/env python3
"""Runs a command, passes its stdout through, and prints on stderr, last, its peak resident set
and wall time as measured by the kernel: "peak_rss_kib=N wall_seconds=S exit=E" (wait4 rusage)."""
import os, subprocess, sys, time

start = time.monotonic()
child = subprocess.Popen(sys.argv[1:])
_, status, usage = os.wait4(child.pid, 0)
print("peak_rss_kib=%d wall_seconds=%.3f exit=%d" % (usage.ru_maxrss, time.monotonic() - start, os.waitstatus_to_exitcode(status)), file=sys.stderr)
