"""Model cards: what a search's best model is, how it was trained and how well it does.

The worker builds the card (it alone has the Keras model for the layer summary) right after
the final training and stores it as JSON beside the model files; the API reads that JSON and
renders it as a page. Nothing here imports TensorFlow.
"""

from __future__ import annotations

import html
import json
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from backend.core.config import Settings
from backend.db.models import Artifact
from backend.services.errors import NotFound

CARD_SCHEMA = 1
# Search settings that shape training, copied into the card.
TRAINING_KEYS = (
    "strategy",
    "population_size",
    "generations",
    "epochs_per_candidate",
    "final_epochs",
    "batch_size",
    "seed",
    "crossover_prob",
    "mutation_rate",
    "tournament_size",
    "elitism",
    "objective",
    "include_baseline",
    "warm_start",
)


def nasboard_version() -> str:
    try:
        return metadata.version("nasboard")
    except metadata.PackageNotFoundError:
        return "unknown"


def build_card(
    *,
    search: dict[str, Any],
    candidate: dict[str, Any],
    genome: dict[str, Any],
    layers: list[dict[str, Any]],
    metrics: dict[str, Any],
    dataset: dict[str, Any],
    exports: dict[str, Any],
    frameworks: dict[str, str],
) -> dict[str, Any]:
    """The card as JSON-ready data; ``search`` holds id, name and the stored config."""
    config = search.get("config", {})
    return {
        "schema": CARD_SCHEMA,
        "model": {
            "search_id": search["id"],
            "search_name": search.get("name"),
            "candidate_id": candidate.get("id"),
            "generation": candidate.get("generation"),
            "index": candidate.get("index"),
            "val_accuracy_during_search": candidate.get("val_accuracy"),
            "params": sum(int(layer.get("params", 0)) for layer in layers),
            "retrained_on": "train + validation splits, scored once on the test split",
        },
        "genome": genome,
        "layers": layers,
        "metrics": {
            key: metrics[key]
            for key in (
                "test_accuracy",
                "f1",
                "precision",
                "recall",
                "confusion_matrix",
                "epochs",
                "latency_ms",
            )
            if key in metrics
        },
        "dataset": dataset,
        "seed": config.get("seed"),
        "training": {key: config[key] for key in TRAINING_KEYS if key in config},
        "exports": exports,
        "versions": {"nasboard": nasboard_version(), **frameworks},
        "created_at": datetime.now(UTC).isoformat(),
    }


def read_card(settings: Settings, artifact: Artifact) -> dict[str, Any]:
    """The stored card (JSON the worker wrote; never a model file)."""
    path = (settings.data_dir / artifact.path).resolve()
    if not path.is_file() or settings.data_dir.resolve() not in path.parents:
        raise NotFound("the model card is missing from the data directory")
    card: dict[str, Any] = json.loads(Path(path).read_text(encoding="utf-8"))
    return card


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return _e(value)


def _table(rows: list[tuple[str, Any]]) -> str:
    body = "".join(f"<tr><th>{_e(k)}</th><td>{_fmt(v)}</td></tr>" for k, v in rows)
    return f"<table>{body}</table>"


def render_html(card: dict[str, Any]) -> str:
    """A readable, self-contained page (no scripts); every value is escaped."""
    model, metrics, dataset = (
        card.get("model", {}),
        card.get("metrics", {}),
        card.get("dataset", {}),
    )
    classes = list(dataset.get("class_names") or [])
    parts = [
        f"<h1>Model card: search {_e(model.get('search_id'))} "
        f"&mdash; {_e(model.get('search_name') or '')}</h1>",
        "<h2>Metrics (test split)</h2>",
        _table(
            [
                (k, metrics[k])
                for k in ("test_accuracy", "f1", "precision", "recall", "epochs", "latency_ms")
                if k in metrics
            ]
        ),
    ]
    matrix = metrics.get("confusion_matrix")
    if matrix:
        head = "".join(
            f"<th>{_e(classes[j] if j < len(classes) else j)}</th>" for j in range(len(matrix))
        )
        rows = "".join(
            f"<tr><th>{_e(classes[i] if i < len(classes) else i)}</th>"
            + "".join(f"<td>{_e(v)}</td>" for v in row)
            + "</tr>"
            for i, row in enumerate(matrix)
        )
        parts += [
            "<h2>Confusion matrix</h2><p>Rows: true class; columns: predicted class.</p>",
            f"<table class='cm'><tr><th></th>{head}</tr>{rows}</table>",
        ]
    parts += [
        "<h2>Model</h2>",
        _table(list(model.items())),
        "<h2>Layers</h2>",
        "<table><tr><th>name</th><th>type</th><th>output shape</th><th>params</th></tr>"
        + "".join(
            f"<tr><td>{_e(layer.get('name'))}</td><td>{_e(layer.get('type'))}</td>"
            f"<td>{_e(layer.get('output_shape'))}</td><td>{_e(layer.get('params'))}</td></tr>"
            for layer in card.get("layers", [])
        )
        + "</table>",
        "<h2>Dataset</h2>",
        _table(
            [(k, v) for k, v in dataset.items() if k != "class_names"]
            + [("classes", ", ".join(map(str, classes)))]
        ),
        "<h2>Training</h2>",
        _table([("seed", card.get("seed")), *card.get("training", {}).items()]),
        "<h2>Exports</h2>",
        _table(
            [
                (fmt, ", ".join(f"{k}: {v}" for k, v in info.items()))
                for fmt, info in card.get("exports", {}).items()
            ]
        ),
        "<h2>Versions</h2>",
        _table(list(card.get("versions", {}).items())),
        "<h2>Genome</h2>",
        f"<pre>{_e(json.dumps(card.get('genome'), indent=2, sort_keys=True))}</pre>",
        f"<p class='meta'>Card created {_e(card.get('created_at'))}.</p>",
    ]
    style = (
        "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;"
        "color:#222}table{border-collapse:collapse;margin:.5rem 0 1.5rem}th,td{border:1px solid "
        "#ccc;padding:.25rem .5rem;text-align:left;font-variant-numeric:tabular-nums}"
        "th{background:#f4f4f4}table.cm td{text-align:right}pre{background:#f7f7f7;"
        "padding:1rem;overflow:auto}.meta{color:#666}"
    )
    title = f"nasboard model card: search {_e(model.get('search_id'))}"
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{title}</title><style>{style}</style></head><body>"
        + "".join(parts)
        + "</body></html>"
    )
