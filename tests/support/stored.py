"""A search stored the way the API stores one, for tests that drive the runner directly."""

from __future__ import annotations

from typing import Any

from backend.db.models import Search
from backend.db.session import Database
from backend.schemas.search import SearchCreate
from backend.services.searches import resolved_config


def stored_search(db: Database, body: SearchCreate, **columns: Any) -> int:
    """Store ``body`` as a queued search (its configuration resolved as the API resolves it),
    with any other ``columns`` of the row; its id."""
    with db.write() as session:
        search = Search(
            name=body.name,
            dataset=body.dataset,
            strategy=body.strategy,
            config=resolved_config(body),
            **columns,
        )
        session.add(search)
        session.flush()
        return search.id
