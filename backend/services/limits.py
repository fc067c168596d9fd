"""Server-side bounds on what one request may make expensive, from Settings.

The request schemas carry fixed outer bounds; these are the operator's (lower) ones. A request
past one is refused with 422 naming the field, before anything is stored or queued.
"""

from __future__ import annotations

from backend.core.config import Settings
from backend.schemas.search import SearchCreate
from backend.services.errors import Invalid


def _at_most(field: str, value: float | None, limit: float, what: str = "") -> None:
    if value is not None and value > limit:
        shown = int(limit) if float(limit).is_integer() else limit
        raise Invalid(field, f"{what or field} must be at most {shown} on this server")


def check_search(body: SearchCreate, settings: Settings) -> None:
    _at_most("population_size", body.population_size, settings.max_population)
    _at_most("generations", body.generations, settings.max_generations)
    _at_most("epochs_per_candidate", body.epochs_per_candidate, settings.max_epochs)
    _at_most("final_epochs", body.final_epochs, settings.max_final_epochs)
    _at_most("batch_size", body.batch_size, settings.max_batch_size)
    _at_most("time_budget_s", body.time_budget_s, settings.max_time_budget_s)
    space = body.search_space
    if space is None:
        return
    _at_most("search_space.conv_blocks_max", space.conv_blocks_max, settings.max_conv_blocks)
    _at_most("search_space.conv_blocks_min", space.conv_blocks_min, settings.max_conv_blocks)
    _at_most("search_space.dense_layers_max", space.dense_layers_max, settings.max_dense_layers)
    _at_most("search_space.dense_layers_min", space.dense_layers_min, settings.max_dense_layers)
    _at_most("search_space.filters", max(space.filters), settings.max_filters, "every filter count")
    _at_most("search_space.units", max(space.units), settings.max_units, "every unit count")
    _at_most(
        "search_space.kernel_sizes",
        max(space.kernel_sizes),
        settings.max_kernel_size,
        "every kernel size",
    )
    _at_most(
        "search_space.branches.max_branches", space.branches.max_branches, settings.max_branches
    )
