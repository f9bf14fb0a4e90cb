#!/usr/bin/env bash
# Peak memory of `gpuaudit report` on a journal holding many violations of one job (issue 10,
# item 5: report --format json on 68k violations within 200 MB). The journal's schema and first
# rows come from the agent itself (a short simulated replay); then N violations of job 4242
# (five evidence lines each, like the policy writes, half of them closed) and a day of that
# job's minutes on 8 GPUs are added with python3's sqlite3. The report does not check the hash
# chain, so those rows need none. Peak RSS is /usr/bin/time -v's "Maximum resident set size",
# beside a same-run baseline: the same journal with 1,000 violations.
#
# usage: bench/report-memory.sh [N]          (default 68000)
# env:   GPUAUDIT_BIN  the gpuaudit to measure (default: the Release build, built if missing)
set -euo pipefail
cd "$(dirname "$0")/.."
count="${1:-68000}"
bin="${GPUAUDIT_BIN:-src/GpuAudit.Cli/bin/Release/net10.0/gpuaudit}"
if [[ ! -x "$bin" ]]; then dotnet build src/GpuAudit.Cli -c Release -nologo -v quiet >&2; fi
command -v python3 >/dev/null && [[ -x /usr/bin/time ]] || { echo "report-memory: needs python3 and /usr/bin/time (apt-get install time)" >&2; exit 2; }

work=$(mktemp -d)
trap '[[ -n "${GPUAUDIT_KEEP:-}" ]] || rm -rf "$work"' EXIT
mkdir -p "$work/map"
for gpu in 0 1 2 3 4 5 6 7; do echo "4242 0" > "$work/map/$gpu"; done

make_journal() {  # make_journal DIR VIOLATIONS
  "$bin" replay --simulate-gpus 8 --simulate-procs 4 --fast --until 5 --job-map "$work/map" --journal "$1" 2>/dev/null
  python3 - "$1/gpuaudit-journal.db" "$2" <<'PY'
import json, random, sqlite3, sys
db, n = sys.argv[1], int(sys.argv[2])
c = sqlite3.connect(db)
seq = c.execute("SELECT max(m) FROM (SELECT max(seq) m FROM runs UNION ALL SELECT max(seq) FROM gpus UNION ALL SELECT max(seq) FROM violations UNION ALL SELECT max(seq) FROM violation_ends UNION ALL SELECT max(seq) FROM gpu_minutes UNION ALL SELECT max(seq) FROM job_minutes UNION ALL SELECT max(seq) FROM processes UNION ALL SELECT max(seq) FROM process_periods UNION ALL SELECT max(seq) FROM prunes)").fetchone()[0]
gpus = [r[0] for r in c.execute("SELECT seq FROM gpus")]
rand = random.Random(1)
start = 1_800_000_000
prev = bytes(16)
for i in range(n):
    seq += 1
    pid = 100000 + i
    t = start + i
    evidence = json.dumps([
        f"pid {pid} classified hash (confidence 0.8{i % 10})",
        "integer pipe 102% of SM activity while tensor 0.0%, FP16/32 0.0%, FP64 0.0%, DRAM 5.2% over 3 busy readings (SM active 82%)",
        "FP pipes silent (0.0% of SM activity) and no tensor math: ML, HPC and decoding always issue some FP",
        "integer-ALU bound (>= 65%): the add/xor/rotate rounds of a hash",
        f"identity agrees: sha256_k_table in anonymous memory ({rand.randint(1, 9)} hits)",
    ])
    vid = f"{rand.getrandbits(64):016x}"
    c.execute("INSERT INTO violations (seq, prev, id, rule, severity, node, gpu, uuid, pid, job, user, executable, start_t, evidence, allowance) "
              "VALUES (?, ?, ?, 'hash_compute', 'critical', 'simulated', ?, ?, ?, '4242', 'mallory', '/usr/bin/python3.12', ?, ?, NULL)",
              (seq, prev, vid, i % 8, f"GPU-sim-0001-{i % 8:04x}", pid, float(t), evidence))
    if i % 2 == 0:
        seq += 1
        c.execute("INSERT INTO violation_ends (seq, prev, id, end_t) VALUES (?, ?, ?, ?)", (seq, prev, vid, float(t + 30)))
for minute in range(start - start % 60, start + 86400, 60):
    for g in gpus:
        seq += 1
        c.execute("INSERT INTO job_minutes (seq, prev, gpu_ref, job, user, minute, first_ms, last_ms, idle_ms, training_ms, inference_ms, compute_ms, hash_ms, unknown_ms, mixed_ms, energy_mj, util_ppm, util_ms) "
                  "VALUES (?, ?, ?, '4242', 'mallory', ?, 0, 59000, 0, 0, 0, 0, 60000, 0, 0, 42000000, 950000, 60000)", (seq, prev, g, minute))
c.commit()
PY
}

measure() {  # measure DIR -> peak RSS in MB, and checks the report parses
  /usr/bin/time -v "$bin" report --job 4242 --journal "$1" --format json 2>"$work/time" >"$work/report.json"
  python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print(len(r['violations']), file=sys.stderr)" "$work/report.json" 2>"$work/count"
  awk '/Maximum resident set size/ { printf "%.1f", $6 / 1024 }' "$work/time"
}

make_journal "$work/base" 1000
make_journal "$work/big" "$count"
base=$(measure "$work/base"); base_n=$(cat "$work/count")
big=$(measure "$work/big"); big_n=$(cat "$work/count"); big_bytes=$(stat -c %s "$work/report.json")
journal_mb=$(du -m "$work/big/gpuaudit-journal.db" | cut -f1)
verdict=$(awk -v x="$big" 'BEGIN { if (x <= 200) printf "met (%.1fx under)", 200 / x; else printf "missed by %.1f MB", x - 200 }')
echo "| report --format json, $big_n violations (journal ${journal_mb} MB, report $((big_bytes / 1048576)) MB) | ≤ 200 MB peak RSS | ${big} MB (same-run baseline, $base_n violations: ${base} MB) | ${verdict} |"
