"""`nasboard watch`'s bars: sized per generation, timed from the first start, the confirmation
and the final model's epochs shown too."""

from __future__ import annotations

import io

from backend.watch_progress import SearchProgress


def _events() -> list[tuple[str, dict]]:
    started = lambda g, i, origin="mutation": (  # noqa: E731
        "candidate_started",
        {"generation": g, "index": i, "origin": origin},
    )
    finished = lambda g, i, acc, origin="mutation": (  # noqa: E731
        "candidate_finished",
        {"generation": g, "index": i, "status": "completed", "val_accuracy": acc, "origin": origin},
    )
    return [
        started(0, 0, "baseline"),
        finished(0, 0, 0.81, "baseline"),
        started(0, 1, "random"),
        (
            "candidate_finished",
            {"generation": 0, "index": 1, "status": "failed", "origin": "random"},
        ),
        ("generation_finished", {"generation": 0, "best_val_accuracy": 0.81}),
        finished(1, 0, 0.85),  # reused by hash: finished without having started
        ("generation_finished", {"generation": 1, "best_val_accuracy": 0.85}),
        started(2, 0, "confirm"),
        finished(2, 0, 0.88, "confirm"),  # a confirmation ends with its phase, not a generation
        (
            "search_status",
            {"status": "running", "phase": "final", "reason": "confirmed: #9 after 4 epochs"},
        ),
        ("final_epoch", {"epoch": 1, "epochs": 3, "train_accuracy": 0.7}),
        ("final_epoch", {"epoch": 2, "epochs": 3, "train_accuracy": 0.8}),
        ("final_epoch", {"epoch": 3, "epochs": 3, "train_accuracy": 0.9}),
        ("search_finished", {"status": "succeeded"}),
    ]


def test_bars_per_generation_confirmation_and_final_model() -> None:
    asked: list[int] = []
    sizes = {0: 2, 1: 1, 2: 1}

    def count(generation: int) -> int:
        asked.append(generation)
        return sizes[generation]

    out = io.StringIO()
    progress = SearchProgress(count, final_epochs=3, file=out)
    for type_, data in _events():
        progress.feed(type_, data)
    text = out.getvalue()
    assert asked == [0, 1, 2]  # once per generation, however many events it has
    assert "generation 0: 100%" in text and "2/2" in text and "best=0.810" in text
    assert "last=failed" in text
    assert "generation 1: 100%" in text and "1/1" in text
    assert "confirmation: 100%" in text and "generation 2" not in text
    # closed when the final phase starts: the final model's bar is not drawn below it
    assert "\x1b[A" not in text
    assert "training the final model (confirmed: #9 after 4 epochs)\n" in text
    assert "final model:   0%" in text  # open from the phase's start, before its first epoch
    assert "final model: 100%" in text and "3/3" in text and "train_acc=0.900" in text


def test_a_generation_of_unknown_size_counts_without_a_total() -> None:
    out = io.StringIO()
    progress = SearchProgress(lambda generation: 0, file=out)  # the count was not available
    progress.feed("candidate_started", {"generation": 0, "index": 0})
    progress.feed(
        "candidate_finished",
        {"generation": 0, "index": 0, "status": "completed", "val_accuracy": 0.5},
    )
    progress.close()
    assert "generation 0: 1cand" in out.getvalue()
