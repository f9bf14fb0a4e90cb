#!/usr/bin/env python3
"""What a scrape of the agent costs (issue 15, exporter conventions), on a simulated 8 GPU x 32
process node polled at 1 Hz with every GPU in a job (as bench/overhead.sh):

  bytes     response size per format: text, text+gzip, OpenMetrics, OpenMetrics+gzip
  latency   30 bursts of 10 scrapes on one keep-alive connection (Prometheus reuses its
            connection): the slowest scrape, and how many took 40 ms or more (Nagle meeting the
            scraper's delayed ACK stalls a scrape for 40 ms)
  cpu       the agent's CPU time (utime+stime, /proc/PID/stat) over a window with scrapes at
            SCRAPES_PER_S minus a window of the same length without: CPU per scrape, next to the
            CPU per poll measured in the quiet window (the baseline of the same run)

usage: bench/scrape.py GPUAUDIT [--seconds S] [--port P]
  GPUAUDIT: the binary (NativeAOT: artifacts/aot/gpuaudit) or "dotnet path/to/gpuaudit.dll"
Python 3 standard library only. Prints a markdown table.
"""
import argparse
import gzip
import http.client
import os
import shlex
import socket
import subprocess
import sys
import tempfile
import time

PROMETHEUS_ACCEPT = ("application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
                     "text/plain;version=0.0.4;q=0.5,*/*;q=0.1")
FORMATS = [
    ("text", "text/plain;version=0.0.4", None),
    ("text+gzip", "text/plain;version=0.0.4", "gzip"),
    ("OpenMetrics", PROMETHEUS_ACCEPT, None),
    ("OpenMetrics+gzip", PROMETHEUS_ACCEPT, "gzip"),
]
SCRAPES_PER_S = 20
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def polls(connection):
    connection.request("GET", "/metrics", headers={"Accept": "text/plain;version=0.0.4"})
    for line in connection.getresponse().read().decode().splitlines():
        if line.startswith("gpuaudit_polls_total "):
            return float(line.split()[1])
    raise SystemExit("no gpuaudit_polls_total on /metrics")


def scrape(connection, accept, encoding):
    headers = {"Accept": accept}
    if encoding:
        headers["Accept-Encoding"] = encoding
    connection.request("GET", "/metrics", headers=headers)
    response = connection.getresponse()
    body = response.read()
    if response.status != 200:
        raise SystemExit(f"scrape answered {response.status}")
    if encoding and response.getheader("Content-Encoding") == "gzip":
        gzip.decompress(body)
    return len(body), response.getheader("Content-Type"), response.getheader("Content-Encoding")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("gpuaudit")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--port", type=int, default=0)
    arguments = parser.parse_args()
    command = shlex.split(arguments.gpuaudit)
    port = arguments.port or free_port()

    with tempfile.TemporaryDirectory() as jobmap:
        for gpu in range(8):
            with open(os.path.join(jobmap, str(gpu)), "w") as f:
                f.write(f"{9000 + gpu} 0\n")
        agent = subprocess.Popen(command + ["replay", "--simulate-gpus", "8", "--simulate-procs", "32", "--job-map", jobmap,
                                            "--listen", f"127.0.0.1:{port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            run(agent.pid, port, arguments.seconds)
        finally:
            agent.terminate()
            agent.wait(10)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(pid, port, seconds):
    connection = wait_ready(port)
    # Ask for OpenMetrics once, as Prometheus would, so it is rendered from the next poll on.
    scrape(connection, PROMETHEUS_ACCEPT, None)
    time.sleep(5)

    print("| format | bytes per scrape | Content-Type | Content-Encoding |")
    print("| --- | --- | --- | --- |")
    sizes = {}
    for name, accept, encoding in FORMATS:
        size, content_type, content_encoding = scrape(connection, accept, encoding)
        sizes[name] = size
        print(f"| {name} | {size} | {content_type} | {content_encoding or ''} |")
    print(f"\ngzip: text {sizes['text'] / sizes['text+gzip']:.1f}x smaller, OpenMetrics {sizes['OpenMetrics'] / sizes['OpenMetrics+gzip']:.1f}x smaller\n")

    latencies = []
    for _ in range(30):
        for _ in range(10):
            start = time.perf_counter()
            scrape(connection, PROMETHEUS_ACCEPT, "gzip")
            latencies.append(time.perf_counter() - start)
        time.sleep(0.2)
    stalled = sum(1 for latency in latencies if latency >= 0.040)
    latencies.sort()
    print(f"keep-alive: {len(latencies)} scrapes in 30 bursts: median {latencies[len(latencies) // 2] * 1000:.2f} ms, "
          f"max {latencies[-1] * 1000:.2f} ms, {stalled} took 40 ms or more\n")

    # Quiet window: the agent polls, nobody scrapes (one scrape at each end reads polls_total).
    polls_before, cpu_before = polls(connection), cpu_seconds(pid)
    time.sleep(seconds)
    polls_after, cpu_after = polls(connection), cpu_seconds(pid)
    per_poll = (cpu_after - cpu_before) / max(1, polls_after - polls_before)
    print(f"baseline: {per_poll * 1000:.2f} ms CPU per poll ({polls_after - polls_before:.0f} polls in {seconds:.0f} s)\n")
    print("| format | CPU per scrape (ms) | scrapes | CPU per scrape / CPU per poll |")
    print("| --- | --- | --- | --- |")
    for name, accept, encoding in FORMATS:
        polls_before, cpu_before = polls(connection), cpu_seconds(pid)
        count = 0
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            scrape(connection, accept, encoding)
            count += 1
            time.sleep(1 / SCRAPES_PER_S)
        polls_after, cpu_after = polls(connection), cpu_seconds(pid)
        extra = (cpu_after - cpu_before) - per_poll * (polls_after - polls_before)
        print(f"| {name} | {extra / count * 1000:.3f} | {count} | {extra / count / per_poll:.2f} |")


def wait_ready(port):
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            polls(connection)
            return connection
        except (OSError, http.client.HTTPException):
            time.sleep(0.3)
    sys.exit(f"the agent did not serve /metrics on port {port} within 60 s")


if __name__ == "__main__":
    main()
