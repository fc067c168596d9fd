"""All tables, imported together so the metadata Alembic sees is complete."""

from backend.db.models.artifact import Artifact
from backend.db.models.candidate import Candidate
from backend.db.models.dataset import Dataset
from backend.db.models.epoch_metric import EpochMetric
from backend.db.models.event import Event
from backend.db.models.search import Search
from backend.db.models.user import ApiToken, User, UserSession
from backend.db.models.worker import Worker

__all__ = [
    "ApiToken",
    "Artifact",
    "Candidate",
    "Dataset",
    "EpochMetric",
    "Event",
    "Search",
    "User",
    "UserSession",
    "Worker",
]
