"""`nasboard watch`'s progress bars, fed from a search's event stream.

One bar per generation, opened when its first candidate starts (so its rate and time left count
from then) with the generation's real size (evolution proposes fewer than the population after
generation 0; a space may run out); the best candidates' confirmation gets a bar of its own, and
so does the final model's training, epoch by epoch, which on a real dataset takes minutes; it
opens when the phase starts, with why the search phase ended.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import IO, Any

from tqdm import tqdm

from backend.db.models.search import PHASE_CONFIRM, PHASE_FINAL
from backend.search.confirm import CONFIRM_ORIGIN

PHASE_TITLES = {PHASE_CONFIRM: "confirming the best", PHASE_FINAL: "training the final model"}


class SearchProgress:
    """Turns ``(type, data)`` events into tqdm bars; ``count(generation)`` is how many
    candidates a generation holds (asked once per generation)."""

    def __init__(
        self,
        count: Callable[[int], int],
        final_epochs: int | None = None,
        file: IO[str] | None = None,
    ) -> None:
        self._count = count
        self._final_epochs = final_epochs
        self._file = file
        self._bars: dict[int, tqdm] = {}
        self._final: tqdm | None = None

    def feed(self, type_: str, data: Mapping[str, Any]) -> None:
        if type_ == "search_status" and data.get("phase") in PHASE_TITLES:
            for bar in self._bars.values():  # the phase before it is over
                bar.close()
            # what comes next, and why (a budget, a target, the generations, the confirmation)
            title = PHASE_TITLES[data["phase"]]
            reason = data.get("reason")
            tqdm.write(f"{title} ({reason})" if reason else title, file=self._file)
            if data["phase"] == PHASE_FINAL:
                self._final_bar()
        elif type_ == "candidate_started":
            self._bar(data)
        elif type_ == "candidate_finished":
            bar = self._bar(data)
            bar.update(1)
            acc = data.get("val_accuracy")
            bar.set_postfix(last=f"{acc:.3f}" if acc is not None else data["status"])
        elif type_ == "generation_finished":
            bar = self._bars.get(int(data["generation"]))
            if bar is not None:
                bar.total = bar.n
                bar.set_postfix(best=f"{data['best_val_accuracy'] or 0:.3f}")
                bar.close()
        elif type_ == "final_epoch":
            final = self._final_bar()
            final.total = int(data["epochs"])
            final.update(int(data["epoch"]) - final.n)
            acc = data.get("train_accuracy")
            if acc is not None:
                final.set_postfix(train_acc=f"{acc:.3f}")
        elif type_ == "search_finished":
            self.close()

    def close(self) -> None:
        for bar in [*self._bars.values(), self._final]:
            if bar is not None:
                bar.close()

    def _bar(self, data: Mapping[str, Any]) -> tqdm:
        gen = int(data["generation"])
        bar = self._bars.get(gen)
        if bar is None:
            confirm = data.get("origin") == CONFIRM_ORIGIN
            desc = "confirmation" if confirm else f"generation {gen}"
            bar = self._bars[gen] = self._open(desc, self._count(gen), "cand")
        return bar

    def _final_bar(self) -> tqdm:
        """The final model's bar, opened at the first of its phase's start or its first epoch."""
        if self._final is None:
            self._final = self._open("final model", self._final_epochs or 0, "epoch")
        return self._final

    def _open(self, desc: str, total: int, unit: str) -> tqdm:
        return tqdm(total=total or None, desc=desc, unit=unit, file=self._file)
