"""Confirmation's rules (backend.search.confirm): which genomes are re-trained, how much time
is held back for them, and which one wins."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.search.confirm import (
    MAX_CONFIRM_SHARE,
    Scored,
    Timing,
    budgeted_reserve,
    confirmation_affordable,
    confirmed_fitness,
    confirmed_winner,
    next_step_seconds,
    next_work_seconds,
    pick_for_confirmation,
    predict_seconds,
    reserve_seconds,
    schedule_seconds,
    seconds_per_epoch,
    skip_note,
    training_epochs,
)


def s(
    key: int, h: str, fit: float | None, params: int = 100, spe: float | None = 1.0
) -> Scored[int]:
    return Scored(key, h, fit, params, spe)


def test_picks_the_best_distinct_genomes_by_score_then_size() -> None:
    scored = [
        s(1, "a", 0.80),
        s(2, "b", 0.90, params=500),
        s(3, "a", 0.95),  # a's reuse scored higher: a counts once, by its best
        s(4, "c", 0.90, params=200),  # ties b on score, smaller: ahead of b
        s(5, "d", None),  # failed
        s(6, "e", math.nan),  # diverged
    ]
    assert [p.key for p in pick_for_confirmation(scored, 3)] == [3, 4, 2]
    assert [p.key for p in pick_for_confirmation(scored, 2)] == [3, 4]
    assert pick_for_confirmation(scored, 1) == []


def test_nothing_to_rank_without_two_usable_genomes() -> None:
    assert pick_for_confirmation([s(1, "a", 0.9), s(2, "a", 0.8), s(3, "b", None)], 4) == []
    assert pick_for_confirmation([s(1, "a", 0.9), s(2, "b", 0.8)], 0) == []


def test_reserve_is_the_picks_measured_epochs_times_confirm_epochs_over_workers() -> None:
    scored = [s(1, "a", 0.9, spe=10.0), s(2, "b", 0.8, spe=20.0), s(3, "c", 0.1, spe=500.0)]
    # each pick's epochs plus one spare epoch (epoch times vary on a shared machine)
    assert reserve_seconds(scored, 2, epochs=4) == (10 + 20) * 5
    # side by side on 2 workers (or more: 2 picks), the slower pick is the wall time
    assert reserve_seconds(scored, 2, epochs=4, parallel=2) == 20 * 5
    assert reserve_seconds(scored, 2, epochs=4, parallel=8) == 20 * 5
    # 3 picks on 2 workers, in rank order: the third goes to the first one free (50 + 40)
    three = [*scored[:2], s(4, "d", 0.7, spe=8.0)]
    assert reserve_seconds(three, 3, epochs=4, parallel=2) == max(20 * 5, 10 * 5 + 8 * 5)
    assert reserve_seconds(three, 3, epochs=4, parallel=2, spare=False) == 20 * 4
    # a pick that never measured its epochs is assumed typical of the others
    partly = [s(1, "a", 0.9, spe=10.0), s(2, "b", 0.8, spe=None)]
    assert reserve_seconds(partly, 2, epochs=1) == 40.0
    assert reserve_seconds([s(1, "a", 0.9, spe=None), s(2, "b", 0.8, spe=None)], 2, 3) == 0.0
    assert reserve_seconds(scored, 0, epochs=4) == 0.0


def test_a_reserve_over_the_budget_share_is_not_held_and_confirmation_is_skipped() -> None:
    # two picks at 40 s an epoch, 4 epochs + 1 spare each: 400 s (the slow VM of run k)
    scored = [s(1, "a", 0.9, spe=40.0), s(2, "b", 0.8, spe=40.0)]
    assert reserve_seconds(scored, 2, epochs=4) == 400.0
    assert MAX_CONFIRM_SHARE * 600 < 400.0 <= MAX_CONFIRM_SHARE * 1200
    # over the share of a 600 s budget: the search phase keeps it all, no confirmation
    assert budgeted_reserve(scored, 2, 4, budget_s=600) == 0.0
    assert not confirmation_affordable(scored, 2, 4, budget_s=600)
    # within the share of a 1200 s budget: held back, and confirmed in the time held back
    # (its epochs, 320 s, fit in it; the spares are for slow epochs)
    assert budgeted_reserve(scored, 2, 4, budget_s=1200) == 400.0
    assert reserve_seconds(scored, 2, 4, spare=False) == 320.0
    assert confirmation_affordable(scored, 2, 4, budget_s=1200, remaining_s=400.0)
    assert confirmation_affordable(scored, 2, 4, budget_s=1200, remaining_s=320.0)
    # within the share but not held back (the reserve was over it while the search ran, and
    # the best few changed at the end): a minute left is not enough, so no confirmation
    assert not confirmation_affordable(scored, 2, 4, budget_s=1200, remaining_s=60.0)
    assert not confirmation_affordable(scored, 2, 4, budget_s=1200, remaining_s=319.0)
    # two workers halve it: 200 s fits a third of 600 s
    assert budgeted_reserve(scored, 2, 4, budget_s=600, parallel=2) == 200.0
    assert confirmation_affordable(scored, 2, 4, budget_s=600, parallel=2, remaining_s=200.0)
    # a search phase that ended early (generations done) confirms in the time it left
    assert confirmation_affordable(scored, 2, 4, budget_s=600, remaining_s=400.0)
    assert not confirmation_affordable(scored, 2, 4, budget_s=600, remaining_s=319.0)
    # what a skip says: over the share, or more than the time left
    assert skip_note(400.0, 600, 10.0).endswith("~400 s, over 33% of the budget")
    assert skip_note(190.0, 600, 60.0).endswith("~190 s, 60 s left")
    # no budget (generations only): no cap
    assert budgeted_reserve(scored, 2, 4, budget_s=None) == 400.0
    assert confirmation_affordable(scored, 2, 4, budget_s=None)
    # nothing to re-rank: never, budget or not
    assert not confirmation_affordable(scored[:1], 2, 4, budget_s=None)
    assert not confirmation_affordable(scored, 0, 4, budget_s=None)


def test_next_step_is_a_slow_epoch_times_epochs_in_waves_of_workers() -> None:
    spe = [4.0, 10.0, 6.0, 5.0, 7.0, 5.5, 6.5, 4.5, 8.0, 30.0, 5.0, 6.0]
    scored = [s(i, f"h{i}", 0.5, spe=v) for i, v in enumerate(spe)]
    # the 90th percentile of 12: the 11th smallest (10.0), not the outlier (30.0)
    assert next_step_seconds(scored, epochs=2, count=1) == 10.0 * 2
    assert next_step_seconds(scored, epochs=2, count=8, parallel=3) == 10.0 * 2 * 3  # 3 waves
    assert next_step_seconds(scored, epochs=2, count=0) == 0.0
    assert next_step_seconds([s(1, "a", 0.9, spe=None)], epochs=2, count=4) == 0.0


def test_winner_is_the_best_confirmed_score_and_ignores_failures() -> None:
    confirmed = [s(7, "a", 0.91, params=300), s(8, "b", 0.93), s(9, "c", None)]
    assert confirmed_winner(confirmed) == confirmed[1]
    tie = [s(7, "a", 0.93, params=300), s(8, "b", 0.93, params=200), s(9, "c", 0.93, 200)]
    assert confirmed_winner(tie) == tie[1]  # fewer parameters, then the earlier
    assert confirmed_winner([s(1, "a", None)]) is None


@given(
    st.lists(
        st.tuples(
            st.integers(0, 5),
            st.one_of(st.none(), st.floats(0, 1)),
            st.integers(1, 10**6),
        ),
        max_size=30,
    ),
    st.integers(0, 8),
)
def test_picks_are_distinct_usable_and_no_better_genome_is_left_out(
    rows: list[tuple[int, float | None, int]], top: int
) -> None:
    scored = [s(i, f"h{h}", fit, params) for i, (h, fit, params) in enumerate(rows)]
    picks = pick_for_confirmation(scored, top)
    assert len(picks) <= top
    assert len({p.genome_hash for p in picks}) == len(picks)
    assert all(p.fitness is not None for p in picks)
    if picks:
        worst = min(p.fitness or 0.0 for p in picks)
        left = {x.genome_hash for x in scored if x.fitness is not None and x.fitness > worst}
        assert left <= {p.genome_hash for p in picks}
    usable = {x.genome_hash for x in scored if x.fitness is not None}
    assert bool(picks) == (top >= 2 and len(usable) >= 2)  # one alone has nothing to rank


def test_predicts_a_candidates_seconds_from_its_flops_before_it_runs() -> None:
    # exactly 2 s + 1 s per MFLOP per epoch: the fit recovers it, with no residual margin
    measured = [
        Scored(i, str(i), 0.8, seconds_per_epoch=2.0 + f, flops=int(f * 1e6))
        for i, f in enumerate([1.0, 3.0, 8.0])
    ]
    assert math.isclose(predict_seconds(5_000_000, measured, 2) or 0, 14.0)
    assert predict_seconds(5_000_000, measured[:2], 2) is None  # too few to fit
    # never below the fastest measured, whatever the fit says about tiny genomes
    assert math.isclose(predict_seconds(0, measured, 1) or 0, 3.0)


@given(
    st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=10**9), st.floats(min_value=0.1, max_value=100)
        ),
        min_size=3,
        max_size=30,
    ),
    st.integers(min_value=0, max_value=10**9),
)
def test_prediction_covers_most_measured_candidates_and_grows_with_flops(
    points: list[tuple[int, float]], flops: int
) -> None:
    measured = [
        Scored(i, str(i), 0.5, seconds_per_epoch=y, flops=x) for i, (x, y) in enumerate(points)
    ]
    covered = sum((predict_seconds(x, measured, 1) or 0) >= y - 1e-9 for x, y in points)
    assert covered >= math.ceil(0.75 * len(points))
    low = predict_seconds(flops, measured, 1) or 0
    assert (predict_seconds(flops + 10**6, measured, 1) or 0) >= low - 1e-9
    assert low >= min(y for _, y in points) - 1e-9


def test_schedule_seconds_is_greedy_list_scheduling() -> None:
    assert schedule_seconds([], 2) == 0.0
    assert schedule_seconds([5, 1, 1, 1], 1) == 8
    assert schedule_seconds([5, 1, 1, 1], 2) == 5  # the three short ones on the other worker
    assert schedule_seconds([1, 1, 5], 2) == 6  # the long one starts after a short one


def test_next_work_is_predicted_when_it_can_be_else_the_slow_percentile() -> None:
    measured = [
        Scored(i, str(i), 0.8, seconds_per_epoch=2.0 + f, flops=int(f * 1e6))
        for i, f in enumerate([1.0, 3.0, 8.0])
    ]
    # 5 and 1 MFLOPs: 7 s and 3 s an epoch, 2 epochs, on 2 workers side by side
    assert math.isclose(next_work_seconds([5_000_000, 1_000_000], measured, 2, parallel=2), 14.0)
    # a cost unknown (None) or too few measured: count candidates at the slow percentile
    assert next_work_seconds([None], measured, 2) == next_step_seconds(measured, 2, 1)
    assert next_work_seconds([1], measured[:2], 2, count=4) == next_step_seconds(measured[:2], 2, 4)


def test_seconds_per_epoch_charges_the_typical_overhead_not_the_first_ones_start_up() -> None:
    timings = [
        Timing(2, 20.0, 45.0),  # a process's first candidate: 25 s outside its epochs
        Timing(2, 20.0, 23.0),  # 3 s outside
        Timing(1, 8.0, 11.0),  # 3 s outside (stopped early after one epoch)
        Timing(2, None, 30.0),  # measured before in_epochs_s existed: total / epochs
        Timing(0, 0.0, 2.0),  # failed before its first epoch
    ]
    # the median time outside the epochs (25, 3, 3 -> 3; no epochs, no figure) is added once
    assert seconds_per_epoch(timings) == [11.5, 11.5, 11.0, 15.0, None]
    assert seconds_per_epoch([Timing(2, None, None)]) == [None]
    assert seconds_per_epoch([]) == []


@given(
    st.lists(
        st.tuples(
            st.integers(1, 8),
            st.floats(0.1, 100.0),
            st.floats(0.0, 100.0),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_seconds_per_epoch_is_at_least_the_epochs_own_time_and_at_most_the_slowest_total(
    rows: list[tuple[int, float, float]],
) -> None:
    timings = [Timing(e, inside, inside + outside) for e, inside, outside in rows]
    overheads = sorted(outside for _, _, outside in rows)
    for t, spe in zip(timings, seconds_per_epoch(timings), strict=True):
        assert spe is not None and t.in_epochs_s is not None
        assert spe >= t.in_epochs_s / t.epochs - 1e-9
        assert spe <= (t.in_epochs_s + overheads[-1]) / t.epochs + 1e-9


def test_a_resumed_confirmation_trains_only_the_epochs_its_candidate_lacks() -> None:
    assert training_epochs(4, 2) == 2
    assert training_epochs(4, 2, resume=False) == 4  # from scratch
    assert training_epochs(2, 2) == 2  # nothing longer to resume to: trained again
    assert training_epochs(1, 3) == 1


def test_a_confirmation_as_long_as_its_candidate_ranks_by_the_mean_of_both() -> None:
    # same length (a second training under another seed): the mean of the two scores
    assert confirmed_fitness(0.90, 2, 0.88, 2) == pytest.approx(0.89)
    # longer (trained on, or from scratch to more epochs): its own score alone
    assert confirmed_fitness(0.90, 4, 0.88, 2) == 0.90
    # a failed or diverged confirmation stays failed; a source without a score: its own
    assert confirmed_fitness(None, 2, 0.88, 2) is None
    assert confirmed_fitness(0.90, 2, None, 2) == 0.90
    assert confirmed_fitness(0.90, 2, math.nan, 2) == 0.90
    assert math.isnan(confirmed_fitness(math.nan, 2, 0.88, 2) or 0.0)


def test_the_mean_can_reverse_the_second_trainings_order() -> None:
    """Sources a 0.905 and b 0.890; their second trainings 0.895 and 0.900: b's second score
    is higher, a's mean is (0.900 against 0.895)."""
    sources = {1: 0.905, 2: 0.890}
    second = [s(1, "a", 0.895), s(2, "b", 0.900)]
    assert confirmed_winner(second) == second[1]
    paired = [
        replace(c, fitness=confirmed_fitness(c.fitness, 2, sources[c.key], 2)) for c in second
    ]
    winner = confirmed_winner(paired)
    assert winner is not None and winner.key == 1
