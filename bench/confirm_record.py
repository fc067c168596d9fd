"""Did the confirmation pick the better final? Every confirmation on record, replayed.

    .venv/bin/python -m bench.confirm_record docs/figures/search_quality_*.json \\
        --finals docs/figures/final_noise_*.json [--json out.json]

A search with ``confirm_top`` 2 trains its best two distinct candidates on (or again) and
retrains the winner of that second look for the final model, instead of the best candidate by
its short score. Whether that pays is a question about genomes the search did *not* ship: this
reads the search reports of ``bench/search_quality.py`` and every final test accuracy on record
(those reports' finals and ``bench/final_noise.py``'s, by genome and training seed, as
``bench.early_signals.known_finals`` gathers them), and for each confirmation prints the two
picks, their short and confirmation scores, which one shipped, and both picks' finals at the
run's seed where both are on record. A pair of genomes that several runs confirmed under the
same seed with the same outcome (the same search up to that point) counts once in the tally.

A benchmark, not a test: it reads figures, trains nothing and asserts nothing.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from bench.early_signals import known_finals


def confirmations(report: dict[str, Any], run: str) -> list[dict[str, Any]]:
    """One row per method of ``report`` that confirmed two candidates: the picks in the order
    of their short scores, each with its confirmation score, and the index that shipped."""
    from backend.search.genome import genome_hash

    protocol = report["protocol"]
    rows = []
    for method in report["methods"]:
        confirmed = method.get("confirmed") or []
        winner = method.get("confirmed_winner")
        if len(confirmed) < 2 or winner is None:
            continue
        trials = {t["index"]: t for t in report["trials"][method["method"]]}
        picks = [
            {
                "index": c["index"],
                "hash": genome_hash(trials[c["index"]]["genome"]),
                "short": trials[c["index"]]["val_accuracy"],
                "confirmation": c["val_accuracy"] if c.get("useful", True) else None,
            }
            for c in confirmed[:2]
        ]
        picks.sort(key=lambda p: -p["short"])
        rows.append(
            {
                "run": run,
                "method": method["method"],
                "seed": int(protocol["seed"]),
                "how": _how(protocol),
                "picks": picks,
                "winner": winner,
            }
        )
    return rows


def _how(protocol: dict[str, Any]) -> str:
    """The kind of confirmation: ``4 resumed`` (trained on from the candidate's model to 4
    epochs), ``4 again`` (4 epochs from scratch) or ``2 reseeded`` (the candidates' length again
    under another seed, ranked by the mean of the two scores)."""
    epochs = protocol.get("confirm_epochs")
    if epochs == protocol["epochs"]:
        return f"{epochs} reseeded"
    return f"{epochs} {'resumed' if protocol.get('confirm_resume') else 'again'}"


def judge(row: dict[str, Any], finals: dict[str, dict[str, Any]]) -> tuple[str, float | None]:
    """``kept`` (the short score's first shipped), ``cut`` (a pick's confirmation did not finish
    in the budget, so nothing was compared), or, where the confirmation changed the pick,
    ``better`` / ``worse`` / ``level`` by the two finals at the run's seed (with the shipped
    final minus the passed-over one), ``unknown`` where one is not on record."""
    first, second = row["picks"]
    if row["winner"] == first["index"]:
        return "kept", None
    if first["confirmation"] is None or second["confirmation"] is None:
        return "cut", None
    shipped, passed_over = (_score(finals, p["hash"], row["seed"]) for p in (second, first))
    if shipped is None or passed_over is None:
        return "unknown", None
    gain = shipped - passed_over
    return ("better" if gain > 0 else "worse" if gain < 0 else "level"), gain


def _score(finals: dict[str, dict[str, Any]], key: str, seed: int) -> float | None:
    score = finals.get(key, {}).get("scores", {}).get(seed)
    return None if score is None else float(score)


def _final(finals: dict[str, dict[str, Any]], key: str, seed: int) -> str:
    score = _score(finals, key, seed)
    return "—" if score is None else f"{score:.4f}"


#: Ways to pick between two confirmed picks: by the short score alone, by the confirmation
#: alone (the product's rule for a resumed confirmation), by the mean of both (each training's
#: noise half as loud, if the two were independent).
RANKINGS = {
    "short score": lambda p: p["short"],
    "confirmation": lambda p: p["confirmation"],
    "mean of both": lambda p: (p["short"] + p["confirmation"]) / 2,
}


def ranking_record(
    rows: list[dict[str, Any]], finals: dict[str, dict[str, Any]]
) -> dict[str, dict[str, float]]:
    """For every distinct pair with both confirmations and both finals at the run's seed on
    record (longer confirmations only): what each of ``RANKINGS`` would have shipped, as the
    mean final and how often it is the better of the two."""
    shipped: dict[str, list[tuple[float, bool]]] = {name: [] for name in RANKINGS}
    seen: set[tuple[Any, ...]] = set()
    for row in rows:
        if row["how"].endswith("reseeded"):
            continue
        first, second = row["picks"]
        if first["confirmation"] is None or second["confirmation"] is None:
            continue
        one, two = (_score(finals, p["hash"], row["seed"]) for p in (first, second))
        if one is None or two is None:
            continue
        key = (
            row["seed"],
            row["how"],
            *((p["hash"], round(p["confirmation"], 4)) for p in row["picks"]),
        )
        if key in seen:
            continue
        seen.add(key)
        for name, by in RANKINGS.items():
            final = one if by(first) >= by(second) else two
            shipped[name].append((final, final == max(one, two)))
    return {
        name: {
            "pairs": len(v),
            "mean_final": sum(f for f, _ in v) / len(v) if v else float("nan"),
            "better_of_two": sum(1 for _, b in v if b),
        }
        for name, v in shipped.items()
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("reports", nargs="+", type=Path, help="search_quality --json reports")
    ap.add_argument("--finals", nargs="*", type=Path, default=[], help="final_noise --json outputs")
    ap.add_argument("--json", type=Path, help="write every row and the tally here")
    args = ap.parse_args(argv)

    finals = known_finals(args.finals, args.reports)
    rows = []
    for path in sorted(args.reports):
        rows += confirmations(
            json.loads(path.read_text()), path.stem.removeprefix("search_quality_")
        )
    print(
        f"{'run':<48} {'method':<13} seed conf.       picks by short score: #i short -> conf. "
        "(final at the run's seed)   shipped  verdict"
    )
    tally: dict[str, dict[str, int]] = {}
    gains: dict[str, list[float]] = {}
    pairs_seen: set[tuple[Any, ...]] = set()
    for row in rows:
        row["verdict"], gain = judge(row, finals)
        how = row["how"]
        picks = ", ".join(
            f"#{p['index']} {p['short']:.4f} -> "
            f"{'—' if p['confirmation'] is None else format(p['confirmation'], '.4f')} "
            f"({_final(finals, p['hash'], row['seed'])})"
            for p in row["picks"]
        )
        print(
            f"{row['run']:<48} {row['method']:<13} {row['seed']:>4} {how:<10} {picks}   "
            f"#{row['winner']:<6} {row['verdict']}"
        )
        pair = (row["seed"], how, *sorted(p["hash"] for p in row["picks"]), row["verdict"])
        if pair not in pairs_seen:
            pairs_seen.add(pair)
            counts = tally.setdefault(how, {})
            counts[row["verdict"]] = counts.get(row["verdict"], 0) + 1
            if gain is not None:
                gains.setdefault(how, []).append(gain)
    print("\ndistinct pairs (seed, both genomes), by confirmation kind:")
    for how, counts in sorted(tally.items()):
        print(f"  {how:<10} " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
        if gains.get(how):
            moved = gains[how]
            print(
                f"            where it changed the pick and both finals are known ({len(moved)}): "
                f"shipped minus passed over {sum(moved) / len(moved):+.4f} on average, "
                + ", ".join(f"{g:+.4f}" for g in moved)
            )
    rankings = ranking_record(rows, finals)
    print(
        "\nwhat each ranking of the two picks would have shipped"
        " (distinct pairs, both finals known):"
    )
    for name, r in rankings.items():
        print(
            f"  {name:<13} mean final {r['mean_final']:.4f}, "
            f"the better of the two in {r['better_of_two']:.0f} of {r['pairs']:.0f}"
        )
    if args.json:
        args.json.write_text(
            json.dumps(
                {"rows": rows, "tally": tally, "gains": gains, "rankings": rankings}, indent=1
            )
        )
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
