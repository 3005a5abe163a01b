#!/usr/bin/env python3
"""Helper for measure.sh: run one pgbench level and measure it; write surge's calibration CSV.

Standard library only (Python >= 3.9).

  pgbench_level.py level --clients N --threads J --warmup W --duration D --tail T
                         --postmaster-pid P --log-dir DIR --raw FILE --json FILE -- PGBENCH ARGS...
  pgbench_level.py csv --out points.csv --meta meta.txt --settings settings.txt LEVEL.json...

`level` starts pgbench for W + D + T seconds and takes two snapshots of /proc at t0 + W and
t0 + W + D. The measurement window is exactly the time between the snapshots: transactions are
counted (and their latencies kept) when they *complete* inside it (pgbench's per-transaction log
stamps the completion time), and CPU seconds are the differences between the snapshots. The
warm-up (connections, pgbench's pre-run VACUUM, cache warming) and the ramp-down (threads ending,
log flushing) fall outside the window.

Server CPU is counted as the postmaster's own utime+stime, plus its reaped children's
(cutime+cstime), plus utime+stime of its live children. A backend or autovacuum worker that
starts or exits between the snapshots is therefore counted exactly once, for the part of its
life inside the window.

Diagnostics (JSON and CSV comments, not columns): context switches per transaction of the
server's live processes and of pgbench's threads, and, with --psql, the share of client backends
in each state / wait event from a once-a-second pg_stat_activity sample inside the window, taken
by one psql session opened before the window.
"""

import argparse
import glob
import json
import math
import os
import re
import shlex
import signal
import subprocess
import sys
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")


def fail(msg):
    print(f"pgbench_level.py: error: {msg}", file=sys.stderr)
    sys.exit(2)


def read_stat(pid):
    """Fields of /proc/PID/stat after the command name, as a list (index 0 = field 3 'state')."""
    with open(f"/proc/{pid}/stat", "rb") as f:
        data = f.read().decode("ascii", "replace")
    return data[data.rindex(")") + 2 :].split()


def proc_cpu(pid, with_children=False):
    """utime+stime (+cutime+cstime) of PID in seconds. Fields 14..17 are indices 11..14 here."""
    s = read_stat(pid)
    ticks = int(s[11]) + int(s[12])
    if with_children:
        ticks += int(s[13]) + int(s[14])
    return ticks / CLK_TCK


def ctxt_switches(status_path):
    """voluntary + nonvoluntary context switches from a /proc/.../status file (0 if gone)."""
    n = 0
    try:
        with open(status_path) as f:
            for line in f:
                if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                    n += int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return n


def client_ctxt_switches(pid):
    """Context switches of all threads of PID."""
    return sum(ctxt_switches(f"/proc/{pid}/task/{t}/status") for t in os.listdir(f"/proc/{pid}/task"))


def server_cpu(postmaster):
    """Total CPU seconds of the server: postmaster + reaped children + live children.

    Also the context switches of each live child, by pid (a diagnostic: only processes alive at
    both snapshots are compared)."""
    total = 0.0
    nchildren = 0
    switches = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            s = read_stat(entry)
        except (FileNotFoundError, ProcessLookupError):
            continue  # exited during the scan
        if int(s[1]) == postmaster:  # field 4 = ppid
            total += (int(s[11]) + int(s[12])) / CLK_TCK
            nchildren += 1
            switches[entry] = ctxt_switches(f"/proc/{entry}/status")
    total += proc_cpu(postmaster, with_children=True)
    return total, nchildren, switches


def machine_cpu():
    """(busy, iowait, total) jiffies from the aggregate line of /proc/stat."""
    with open("/proc/stat") as f:
        fields = f.readline().split()
    assert fields[0] == "cpu"
    v = [int(x) for x in fields[1:9]]  # user nice system idle iowait irq softirq steal
    user, nice, system, idle, iowait, irq, softirq, steal = v
    busy = user + nice + system + irq + softirq + steal
    return busy, iowait, busy + idle + iowait


def loadavg():
    with open("/proc/loadavg") as f:
        return [float(x) for x in f.read().split()[:3]]


def snapshot(postmaster, client_pid):
    t = time.time()
    srv, nchildren, switches = server_cpu(postmaster)
    cli = proc_cpu(client_pid)
    cli_switches = client_ctxt_switches(client_pid)
    busy, iowait, total = machine_cpu()
    return {
        "t": t,
        "server_cpu_s": srv,
        "server_processes": nchildren + 1,
        "server_switches": switches,
        "client_cpu_s": cli,
        "client_switches": cli_switches,
        "machine_busy_jiffies": busy,
        "machine_iowait_jiffies": iowait,
        "machine_total_jiffies": total,
        "loadavg": loadavg(),
    }


def percentile(sorted_xs, p):
    """Linear interpolation at index p*(n-1) of the sorted samples (as k6's TrendSink.P)."""
    n = len(sorted_xs)
    if n == 0:
        return float("nan")
    idx = p * (n - 1)
    lo = math.floor(idx)
    hi = min(lo + 1, n - 1)
    return sorted_xs[lo] + (sorted_xs[hi] - sorted_xs[lo]) * (idx - lo)


def parse_logs(files, t_a, t_b):
    """Count transactions completing in (t_a, t_b]; latencies in ms of the successful ones."""
    lat_ms = []
    failed = skipped = 0
    first_end = math.inf
    last_end = -math.inf
    for path in files:
        with open(path) as f:
            for lineno, line in enumerate(f, 1):
                parts = line.split()
                if len(parts) < 6:
                    fail(f"{path}:{lineno}: expected at least 6 fields "
                         f"(client_id transaction_no time script_no time_epoch time_us), "
                         f"got {line.strip()!r}")
                end = int(parts[4]) + int(parts[5]) / 1e6
                first_end = min(first_end, end)
                last_end = max(last_end, end)
                if not (t_a < end <= t_b):
                    continue
                if parts[2] == "failed":
                    failed += 1
                elif parts[2] == "skipped":
                    skipped += 1
                else:
                    lat_ms.append(int(parts[2]) / 1000.0)
    lat_ms.sort()
    return lat_ms, failed, skipped, first_end, last_end


REPORT_PATTERNS = {
    "pgbench_tps": r"^tps = ([0-9.]+) \(without initial connection time\)",
    "pgbench_latency_avg_ms": r"^latency average = ([0-9.]+) ms",
    "pgbench_processed": r"^number of transactions actually processed: (\d+)",
    "pgbench_failed": r"^number of failed transactions: (\d+)",
    "pgbench_initial_connection_ms": r"^initial connection time = ([0-9.]+) ms",
}


def parse_report(text):
    out = {}
    for key, pat in REPORT_PATTERNS.items():
        m = re.search(pat, text, re.MULTILINE)
        out[key] = float(m.group(1)) if m else None
    return out


WAIT_QUERY = (
    "SELECT coalesce(state, '-'), coalesce(wait_event_type, '-'), coalesce(wait_event, '-'), "
    "count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' "
    "AND pid <> pg_backend_pid() AND datname = current_database() GROUP BY 1, 2, 3;\n")


def start_sampler(psql_cmd, out_path, start_in, duration):
    """One psql session (started before the window, so its connection cost falls outside it)
    that samples the client backends' state and wait event once a second inside the window."""
    n = max(1, int(duration) - 1)
    script = f"SELECT pg_sleep({max(0.0, start_in) + 0.5:.3f});\n"
    script += (WAIT_QUERY + "SELECT pg_sleep(1);\n") * n
    out = open(out_path, "w")
    proc = subprocess.Popen(psql_cmd + ["-X", "-q", "-At", "-F", "|"], stdin=subprocess.PIPE,
                            stdout=out, stderr=subprocess.STDOUT, text=True)
    proc.stdin.write(script)
    proc.stdin.close()
    return proc, out


def summarise_waits(path):
    """Fractions of sampled client backends per 'state wait_event_type:wait_event'."""
    counts = {}
    total = 0
    with open(path) as f:
        for line in f:
            parts = line.rstrip("\n").split("|")
            if len(parts) != 4:
                continue
            state, wtype, wevent, n = parts
            key = f"{state} {wtype}:{wevent}" if wtype != "-" else f"{state} (no wait event)"
            counts[key] = counts.get(key, 0) + int(n)
            total += int(n)
    return {k: v / total for k, v in sorted(counts.items(), key=lambda kv: -kv[1])} if total else {}


def sleep_until(t):
    while True:
        d = t - time.time()
        if d <= 0:
            return
        time.sleep(min(d, 0.5))


def cmd_level(a):
    for f in glob.glob(os.path.join(a.log_dir, "pgbench_log*")):
        os.remove(f)
    total = a.warmup + a.duration + a.tail
    cmd = a.pgbench + ["-c", str(a.clients), "-j", str(a.threads), "-T", str(total),
                       "-l", "--log-prefix", os.path.join(a.log_dir, "pgbench_log")]
    la_before = loadavg()
    with open(a.raw, "w") as raw:
        raw.write("# " + " ".join(cmd) + "\n")
        raw.flush()
        t0 = time.time()
        proc = subprocess.Popen(cmd, stdout=raw, stderr=subprocess.STDOUT)
        sampler = None
        try:
            sleep_until(t0 + a.warmup / 2)
            if a.psql:
                sampler, sampler_out = start_sampler(shlex.split(a.psql), a.waits_raw,
                                                     t0 + a.warmup - time.time(), a.duration)
            sleep_until(t0 + a.warmup)
            if proc.poll() is not None:
                fail(f"pgbench ended during the warm-up (exit {proc.returncode}); see {a.raw}")
            snap_a = snapshot(a.postmaster_pid, proc.pid)
            sleep_until(snap_a["t"] + a.duration)
            if proc.poll() is not None:
                fail(f"pgbench ended inside the measurement window (exit {proc.returncode}); "
                     f"see {a.raw}")
            snap_b = snapshot(a.postmaster_pid, proc.pid)
            rc = proc.wait(timeout=a.tail + 120)
            if sampler:
                try:
                    sampler.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    sampler.kill()
                    sampler.wait()
                sampler_out.close()
        except BaseException:
            if sampler:
                sampler.kill()
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
            raise
    with open(a.raw) as raw:
        report = parse_report(raw.read())

    files = sorted(glob.glob(os.path.join(a.log_dir, "pgbench_log*")))
    if not files:
        fail(f"pgbench wrote no per-transaction log under {a.log_dir}")
    t_a, t_b = snap_a["t"], snap_b["t"]
    lat, failed, skipped, first_end, last_end = parse_logs(files, t_a, t_b)
    for f in files:
        os.remove(f)  # large; only the summary is kept

    window = t_b - t_a
    ok = len(lat)
    waits = summarise_waits(a.waits_raw) if a.psql else {}
    common = snap_a["server_switches"].keys() & snap_b["server_switches"].keys()
    srv_switches = sum(snap_b["server_switches"][p] - snap_a["server_switches"][p] for p in common)
    cli_switches = snap_b["client_switches"] - snap_a["client_switches"]
    done = ok + failed
    if done == 0:
        fail(f"no transaction completed inside the window at {a.clients} clients; see {a.raw}")
    srv = snap_b["server_cpu_s"] - snap_a["server_cpu_s"]
    cli = snap_b["client_cpu_s"] - snap_a["client_cpu_s"]
    dj = snap_b["machine_total_jiffies"] - snap_a["machine_total_jiffies"]
    busy = (snap_b["machine_busy_jiffies"] - snap_a["machine_busy_jiffies"]) / dj
    iowait = (snap_b["machine_iowait_jiffies"] - snap_a["machine_iowait_jiffies"]) / dj
    ncpu = os.cpu_count()
    x = done / window
    mean = sum(lat) / ok if ok else float("nan")
    warnings = []
    if rc != 0:
        warnings.append(f"pgbench exit status {rc} (clients aborted?)")
    if first_end > t_a:
        warnings.append("no transaction completed before the window opened: warm-up too short")
    if last_end < t_b:
        warnings.append("no transaction completed after the window closed: run ended early")
    if skipped:
        warnings.append(f"{skipped} skipped transactions")
    result = {
        "clients": a.clients,
        "threads": a.threads,
        "nproc": ncpu,
        "warmup_s": a.warmup,
        "window_s": window,
        "transactions": done,
        "failed": failed,
        "throughput": x,
        "error_rate": failed / done,
        "lat_mean_ms": mean,
        "lat_p50_ms": percentile(lat, 0.50),
        "lat_p95_ms": percentile(lat, 0.95),
        "lat_p99_ms": percentile(lat, 0.99),
        "lat_max_ms": lat[-1] if lat else float("nan"),
        "server_cpu_s": srv,
        "client_cpu_s": cli,
        "cpu_s_db": srv / done,
        "cpu_s_client": cli / done,
        "util_db": srv / (window * ncpu),
        "util_client": cli / (window * ncpu),
        "machine_busy": busy,
        "machine_iowait": iowait,
        "other_busy": busy - (srv + cli) / (window * ncpu),
        "little_n": x * mean / 1000.0,
        "server_ctxt_switches_per_txn": srv_switches / done,
        "client_ctxt_switches_per_txn": cli_switches / done,
        "backend_waits": waits,
        "server_processes": [snap_a["server_processes"], snap_b["server_processes"]],
        "loadavg_before": la_before,
        "loadavg_window_end": snap_b["loadavg"],
        "pgbench_exit": rc,
        "warnings": warnings,
        **report,
    }
    tmp = a.json + ".tmp"
    with open(tmp, "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")
    os.replace(tmp, a.json)
    print(f"  clients={a.clients:<3} X={x:9.1f} tps  R={mean:8.3f} ms  p99={result['lat_p99_ms']:8.2f} ms"
          f"  cpu_s.db={result['cpu_s_db'] * 1e6:7.1f} us  util.db={result['util_db']:.3f}"
          f"  util.client={result['util_client']:.3f}  machine={busy:.3f}  X*R/N={result['little_n'] / a.clients:.3f}"
          f"  load1={snap_b['loadavg'][0]:.2f}")
    if waits:
        print("    backend states: " + ", ".join(f"{k} {v:.0%}" for k, v in list(waits.items())[:5]))
    for w in warnings:
        print(f"  warning: {w}", file=sys.stderr)


COLUMNS = ["kind", "load", "throughput", "lat_mean_ms", "lat_p50_ms", "lat_p95_ms", "lat_p99_ms",
           "error_rate", "think_s", "duration_s", "util.db", "util.client", "cpu_s.db",
           "cpu_s.client", "role"]


def num(v, fmt):
    return "" if v is None or (isinstance(v, float) and math.isnan(v)) else format(v, fmt)


def cmd_csv(a):
    meta = {}
    with open(a.meta) as f:
        for lineno, line in enumerate(f, 1):
            if line.strip():
                if "=" not in line:
                    fail(f"{a.meta}:{lineno}: expected key=value, got {line.strip()!r}")
                k, v = line.rstrip("\n").split("=", 1)
                meta[k] = v
    settings = []
    with open(a.settings) as f:
        for line in f:
            if "|" in line:
                settings.append(line.rstrip("\n").split("|", 1))
    fit_max = int(meta["fit_max"])
    levels = []
    for path in a.levels:
        with open(path) as f:
            levels.append(json.load(f))
    levels.sort(key=lambda r: r["clients"])
    lines = [
        f"# PostgreSQL {meta['server_version']} measured with pgbench -N (simple-update), "
        f"scale {meta['scale']}, closed loop, think time 0, one level per row",
        f"# generated by measure/pgbench/measure.sh; started {meta['started']}, finished {meta['finished']}",
        f"# machine: nproc={meta['nproc']} ({meta['cpu_model']}), {meta['mem']}; "
        f"kernel {meta['kernel']}; data dir on {meta['data_fs']}",
        "# pgbench and the server run on the same cores (unix socket, no TCP); util.* are busy "
        "fractions of ALL the machine's cores, cpu_s.* are core-seconds per transaction",
        f"# load average (1/5/15 min) at start {meta['loadavg_start']}, at end {meta['loadavg_end']} "
        f"(nproc={meta['nproc']}); any other work on the machine shared the cores with this "
        "measurement: see other_busy per level below",
        f"# per level: warm-up {meta['warmup']} s discarded, then a {meta['duration']} s window; "
        "transactions counted when they complete in the window; latencies from pgbench's "
        "per-transaction log (percentiles interpolated at p*(n-1))",
        f"# role: fit for clients <= {meta['fit_max']}, holdout above",
        "# server settings (defaults of a fresh initdb; only listen_addresses, port and "
        "unix_socket_directories changed):",
    ]
    for k, v in settings:
        lines.append(f"#   {k} = {v}")
    lines.append("# level diagnostics: machine_busy/iowait = /proc/stat fractions of all cores; "
                 "other_busy = machine_busy - util.db - util.client; little = X*R/N; "
                 "pgbench_tps = pgbench's own report over its whole run; ctxsw_per_txn = context "
                 "switches per transaction; backend states = share of client backends seen in each "
                 "state and wait event by a once-a-second pg_stat_activity sample in the window "
                 "('active (no wait event)' = on a CPU or runnable)")
    for r in levels:
        lines.append(
            f"#   clients={r['clients']} threads={r['threads']} window_s={r['window_s']:.2f} "
            f"transactions={r['transactions']} machine_busy={r['machine_busy']:.3f} "
            f"iowait={r['machine_iowait']:.3f} other_busy={r['other_busy']:.3f} "
            f"little={r['little_n'] / r['clients']:.3f} "
            f"loadavg={'/'.join(f'{x:.2f}' for x in r['loadavg_window_end'])} "
            f"pgbench_tps={num(r['pgbench_tps'], '.1f')} lat_max_ms={num(r['lat_max_ms'], '.2f')}"
            + f" ctxsw_per_txn.db={r['server_ctxt_switches_per_txn']:.2f}"
            + f" ctxsw_per_txn.client={r['client_ctxt_switches_per_txn']:.2f}"
            + (f" warnings={'; '.join(r['warnings'])}" if r["warnings"] else ""))
        if r.get("backend_waits"):
            lines.append("#     backend states: " + ", ".join(
                f"{k} {v:.1%}" for k, v in list(r["backend_waits"].items())[:6]))
    lines.append(",".join(COLUMNS))
    for r in levels:
        role = "fit" if r["clients"] <= fit_max else "holdout"
        row = ["closed", str(r["clients"]), num(r["throughput"], ".3f"),
               num(r["lat_mean_ms"], ".4f"), num(r["lat_p50_ms"], ".4f"),
               num(r["lat_p95_ms"], ".4f"), num(r["lat_p99_ms"], ".4f"),
               num(r["error_rate"], ".6f"), "0", num(r["window_s"], ".3f"),
               num(r["util_db"], ".4f"), num(r["util_client"], ".4f"),
               num(r["cpu_s_db"], ".8f"), num(r["cpu_s_client"], ".8f"), role]
        lines.append(",".join(row))
    tmp = a.out + ".tmp"
    with open(tmp, "w") as f:
        f.write("\n".join(lines) + "\n")
    os.replace(tmp, a.out)


def main():
    # SIGTERM (sent by measure.sh's cleanup) unwinds like Ctrl-C, so pgbench and psql are stopped too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    lv = sub.add_parser("level")
    lv.add_argument("--clients", type=int, required=True)
    lv.add_argument("--threads", type=int, required=True)
    lv.add_argument("--warmup", type=int, required=True)
    lv.add_argument("--duration", type=int, required=True)
    lv.add_argument("--tail", type=int, default=2)
    lv.add_argument("--postmaster-pid", type=int, required=True)
    lv.add_argument("--log-dir", required=True)
    lv.add_argument("--raw", required=True)
    lv.add_argument("--json", required=True)
    lv.add_argument("--psql", help="psql command and connection options (one string) for the "
                    "wait-event sampler; omitted: no sampling")
    lv.add_argument("--waits-raw", help="where the sampler writes its raw output")
    lv.add_argument("pgbench", nargs="+", help="pgbench command and connection arguments")
    cv = sub.add_parser("csv")
    cv.add_argument("--out", required=True)
    cv.add_argument("--meta", required=True, help="key=value lines written by measure.sh")
    cv.add_argument("--settings", required=True, help="name|value lines from pg_settings")
    cv.add_argument("levels", nargs="+")
    a = p.parse_args()
    if a.cmd == "level":
        cmd_level(a)
    else:
        cmd_csv(a)


if __name__ == "__main__":
    main()
