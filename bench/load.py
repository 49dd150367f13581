"""Load benchmark of the production profile: human-paced conversations through the web app.

``make bench-load`` (``python -m bench.load``) → ``docs/benchmarks/load.md`` and ``load.json``.

For one and for two Rasa replicas (each with as many action servers; always two web app
instances, PostgreSQL and Redis of this machine, a database of its own), it raises the number of
concurrent conversations step by step (``bench/load_client.py`` in a process of its own: a
message every 5-15 s per conversation, realistic German questions, calculations, handoffs) and
records p50/p95/p99 latency, throughput and errors per step. The capacity of a configuration is
the largest step with p95 under 500 ms and no error; it stops one step after the first that
misses, to show the knee of the curve.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psutil
from sqlalchemy import create_engine, text

from bench.common import REPO_ROOT, RESULTS_DIR, machine
from bot.devserver import ProductionLayout, prepare_production, production_services

P95_LIMIT_MS = 500.0
DEFAULT_LEVELS = (100, 200, 300, 400, 500, 600, 700, 800, 1000)


def layout_for(replicas: int, database: str, models: Path, logs: Path) -> ProductionLayout:
    return ProductionLayout(
        database=database,
        redis_db=9,
        lock_db=10,
        calculator_port=28100,
        action_ports=tuple(28055 + i for i in range(replicas)),
        rasa_ports=tuple(28005 + i for i in range(replicas)),
        web_ports=(28000, 28001),
        model_dir=models,
        secret_file=models.parent / "secret",
        log_dir=logs,
    )


def drop_database(layout: ProductionLayout) -> None:
    admin = create_engine(f"postgresql://{layout.postgres_user}@{layout.postgres_host}:"
                          f"{layout.postgres_port}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{layout.database}" WITH (FORCE)'))
    admin.dispose()


def rss_mib(services) -> dict[str, float]:
    """Resident memory per process (MiB), children included."""
    out = {}
    for service in services:
        if service.process is None:
            continue
        try:
            proc = psutil.Process(service.process.pid)
            rss = proc.memory_info().rss + sum(c.memory_info().rss
                                               for c in proc.children(recursive=True))
        except psutil.Error:
            continue
        out[service.name] = rss / 2**20
    return out


def cpu_seconds(services) -> dict[str, float]:
    """CPU time (user + system, s) used so far per process, children included."""
    out = {}
    for service in services:
        if service.process is None:
            continue
        try:
            proc = psutil.Process(service.process.pid)
            procs = [proc, *proc.children(recursive=True)]
            out[service.name] = sum(p.cpu_times().user + p.cpu_times().system for p in procs)
        except psutil.Error:
            continue
    return out


def postgres_cpu_seconds() -> float:
    """CPU time of every PostgreSQL server process on this machine (s)."""
    total = 0.0
    for proc in psutil.process_iter(["name"]):
        try:
            if proc.info["name"] and proc.info["name"].startswith("postgres"):
                times = proc.cpu_times()
                total += times.user + times.system
        except psutil.Error:
            continue
    return total


def run_level(web_urls: str, conversations: int, warmup: float, measure: float,
              services) -> dict:
    cpu_before = {**cpu_seconds(services), "postgresql": postgres_cpu_seconds()}
    before = psutil.cpu_times()
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    completed = subprocess.run(
        [sys.executable, "-m", "bench.load_client", "--web", web_urls,
         "--conversations", str(conversations), "--warmup", str(warmup),
         "--measure", str(measure)],
        cwd=REPO_ROOT, capture_output=True, text=True,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"load client failed:\n{completed.stderr[-3000:]}")
    after = psutil.cpu_times()
    children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_after = {**cpu_seconds(services), "postgresql": postgres_cpu_seconds()}
    cpu_before["load generator"] = 0.0
    cpu_after["load generator"] = (
        children_after.ru_utime - children_before.ru_utime
        + children_after.ru_stime - children_before.ru_stime
    )
    busy = (after.user - before.user) + (after.system - before.system)
    total = busy + (after.idle - before.idle)
    result: dict = json.loads(completed.stdout.strip().splitlines()[-1])
    result["cpu_busy_percent"] = round(100 * busy / total, 1) if total else None
    # CPU per message and process over the whole step (warm-up included), ms.
    sent = max(1, result["messages"] * (warmup + measure) / measure)
    result["cpu_ms_per_message"] = {
        name: round(1000 * (cpu_after[name] - cpu_before.get(name, 0.0)) / sent, 1)
        for name in cpu_after
    }
    return result


def measure_configuration(replicas: int, levels: list[int], warmup: float, measure: float,
                          env: dict[str, str]) -> dict:
    root = Path(tempfile.mkdtemp(prefix="bench-load-"))
    models = root / "models"
    models.mkdir()
    shutil.copy2(REPO_ROOT / "models" / "assistant.tar.gz", models / "assistant.tar.gz")
    logs = REPO_ROOT / "build" / "bench-logs" / f"load-{replicas}"
    shutil.rmtree(logs, ignore_errors=True)
    logs.mkdir(parents=True)
    layout = layout_for(replicas, f"benchload_{uuid.uuid4().hex[:8]}", models, logs)
    model, secret, _ = prepare_production(layout)
    services = production_services(layout, model, secret, extra_env=env)
    steps = []
    try:
        for service in services:
            service.start()
        for service in services:
            service.wait_ready()
        web_urls = ",".join(f"http://127.0.0.1:{p}" for p in layout.web_ports)
        missed = 0
        for conversations in levels:
            print(f"{replicas} replica(s), {conversations} conversations …", flush=True)
            step = run_level(web_urls, conversations, warmup, measure, services)
            step["rss_mib"] = rss_mib(services)
            steps.append(step)
            ok = step["errors"] == 0 and step["latency_ms"]["p95"] < P95_LIMIT_MS
            print(f"  p95 {step['latency_ms']['p95']:.0f} ms, {step['throughput_per_s']:.1f} "
                  f"msg/s, errors {step['errors']}, CPU {step['cpu_busy_percent']} %, "
                  f"CPU ms/message {step['cpu_ms_per_message']}", flush=True)
            missed = 0 if ok else missed + 1
            if missed >= 2:
                break
    finally:
        for service in reversed(services):
            service.stop()
        drop_database(layout)
        shutil.rmtree(root, ignore_errors=True)
    passing = [s for s in steps
               if s["errors"] == 0 and s["latency_ms"]["p95"] < P95_LIMIT_MS]
    return {
        "replicas": replicas,
        "steps": steps,
        "capacity": max((s["conversations"] for s in passing), default=0),
    }


def write_report(results: list[dict], args: argparse.Namespace) -> None:
    (RESULTS_DIR / "load.json").write_text(json.dumps(results, indent=2) + "\n",
                                           encoding="utf-8")
    lines = [
        "# Load: human-paced conversations through the production profile",
        "",
        f"Command: `make bench-load` (`python -m bench.load --levels "
        f"{','.join(map(str, args.levels))} --warmup {args.warmup:g} --measure {args.measure:g}`)."
        f" Machine: {machine()}.",
        "",
        "Everything on this one machine: two web app instances, the Rasa replicas with as many "
        "action servers, the calculator, PostgreSQL (chat store, content store, Rasa's SQL "
        "tracker store), Redis (live events, rate limits, Rasa's lock store), and the load "
        "generator (`bench/load_client.py`, its own process). Each conversation sends a message "
        "5-15 s after the previous answer: FAQ questions from the held-out set (70 %), an "
        "instalment calculation (20 %), a request for a person (5 %), small talk (5 %); a "
        "finished customer is replaced by a new one. A step warms up for "
        f"{args.warmup:g} s (conversations start spread over it) and measures {args.measure:g} s."
        f" Capacity: the largest step with p95 < {P95_LIMIT_MS:.0f} ms and no error.",
        "",
        "| Rasa replicas | capacity (concurrent conversations) |",
        "|---|---|",
        *[f"| {r['replicas']} | {r['capacity']} |" for r in results],
        "",
    ]
    for r in results:
        lines += [
            f"## {r['replicas']} Rasa replica(s)",
            "",
            "| conversations | messages | msg/s | p50 ms | p95 ms | p99 ms | max ms | errors | "
            "CPU busy | handoffs |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for s in r["steps"]:
            lat = s["latency_ms"]
            lines.append(
                f"| {s['conversations']} | {s['messages']} | {s['throughput_per_s']:.1f} | "
                f"{lat['p50']:.0f} | {lat['p95']:.0f} | {lat['p99']:.0f} | "
                f"{(s['max_ms'] or 0):.0f} | {s['errors']} | {s['cpu_busy_percent']} % | "
                f"{s['handoffs']} |"
            )
        at_capacity = next((s for s in r["steps"] if s["conversations"] == r["capacity"]), None)
        if at_capacity and at_capacity.get("cpu_ms_per_message"):
            cpu = at_capacity["cpu_ms_per_message"]
            lines += ["", f"CPU time per message at {r['capacity']} conversations (ms, warm-up "
                      "included): " + ", ".join(f"{k} {v}" for k, v in sorted(cpu.items()))
                      + f"; total {sum(cpu.values()):.1f}."]
        last = r["steps"][-1] if r["steps"] else None
        if last:
            memory = ", ".join(f"{k} {v:.0f}" for k, v in sorted(last["rss_mib"].items()))
            lines += ["", f"Memory at the last step (RSS, MiB): {memory}."]
            examples = [e for s in r["steps"] for e in s["error_examples"]]
            if examples:
                lines += ["", "Errors seen: " + "; ".join(sorted(set(examples))[:5]) + "."]
        lines.append("")
    report = RESULTS_DIR / "load.md"
    old = report.read_text(encoding="utf-8") if report.exists() else ""
    capacity_note = old.split("<!-- capacity -->", 1)
    body = "\n".join(lines)
    if len(capacity_note) == 2:  # keep the hand-written estimate below the marker
        body += "\n<!-- capacity -->" + capacity_note[1]
    report.write_text(body, encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report-only", action="store_true",
                        help="rewrite load.md from docs/benchmarks/load.json (no measuring)")
    parser.add_argument("--replicas", default="1,2", help="Rasa replica counts to measure")
    parser.add_argument("--levels", default=",".join(map(str, DEFAULT_LEVELS)))
    parser.add_argument("--warmup", type=float, default=20.0)
    parser.add_argument("--measure", type=float, default=60.0)
    args = parser.parse_args()
    args.levels = [int(x) for x in args.levels.split(",")]
    if args.report_only:
        write_report(json.loads((RESULTS_DIR / "load.json").read_text(encoding="utf-8")), args)
        return 0
    env = {
        # One load generator stands for many customers behind one address.
        "CHAT_NEW_CONVERSATIONS_PER_MINUTE": "1000000",
        "TRAINING_ENABLED": "false",
    }
    results = []
    for replicas in (int(x) for x in args.replicas.split(",")):
        started = time.monotonic()
        results.append(measure_configuration(replicas, args.levels, args.warmup, args.measure,
                                             env))
        print(f"{replicas} replica(s): capacity {results[-1]['capacity']} "
              f"({time.monotonic() - started:.0f} s)", flush=True)
    write_report(results, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
