"""An uploaded dataset: its shape, classes, counts, checksum, split policy and stored files.

Built-in datasets have no row; ``backend.datasets.registry`` answers for both kinds.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Float, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import Base, JSONType, utcnow
from backend.db.types import UTCDateTime

# Where the test split came from: the uploaded file's own test arrays, or held out by the policy.
TEST_FROM_UPLOAD, TEST_HELD_OUT = "upload", "held_out"


class Dataset(Base):
    __tablename__ = "datasets"

    # A slug of the name plus a random suffix; never collides with a built-in id.
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    # What was uploaded: npz | zip | csv, the client's file name and the file's sha256.
    source_format: Mapped[str] = mapped_column(String(16))
    source_filename: Mapped[str] = mapped_column(String(255), default="")
    source_sha256: Mapped[str] = mapped_column(String(64))
    input_shape: Mapped[list[int]] = mapped_column(JSONType)
    num_classes: Mapped[int] = mapped_column(Integer)
    class_names: Mapped[list[str]] = mapped_column(JSONType)
    train_size: Mapped[int] = mapped_column(Integer)
    val_size: Mapped[int] = mapped_column(Integer)
    test_size: Mapped[int] = mapped_column(Integer)
    # Examples per class in each split: {"train": [...], "val": [...], "test": [...]}.
    class_counts: Mapped[dict[str, Any]] = mapped_column(JSONType)
    # sha256 of the normalized arrays (the same definition the built-ins use).
    sha256: Mapped[str] = mapped_column(String(64))
    # The split policy that made validation (and, without uploaded test arrays, test) splits.
    val_fraction: Mapped[float] = mapped_column(Float)
    stratified: Mapped[bool] = mapped_column(Boolean)
    split_seed: Mapped[int] = mapped_column(BigInteger)
    test_source: Mapped[str] = mapped_column(String(16))
    # Relative to the data directory.
    path: Mapped[str] = mapped_column(String(500))
    size: Mapped[int] = mapped_column(BigInteger)
    preview_path: Mapped[str] = mapped_column(String(500))
    # The user it belongs to (users.id; no foreign key, so adding it rebuilds no table);
    # None for what was made in single-user mode (auth off): only admins see those then.
    owner_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
