"""Who is asking, and what they may see: owners see their own things, admins see all.

With authentication off (single-user mode on a loopback address) the caller is
``Principal.single_user()``: it sees everything and what it makes has no owner.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from sqlalchemy import Select
from sqlalchemy.orm import InstrumentedAttribute

Method = Literal["off", "token", "session"]
S = TypeVar("S", bound=Select)


@dataclass(frozen=True)
class Principal:
    user_id: int | None
    name: str | None
    is_admin: bool
    method: Method

    @classmethod
    def single_user(cls) -> Principal:
        return cls(user_id=None, name=None, is_admin=True, method="off")

    def can_see(self, owner_id: int | None) -> bool:
        return self.is_admin or (owner_id is not None and owner_id == self.user_id)

    def scope(self, stmt: S, owner_column: InstrumentedAttribute[Any]) -> S:
        """``stmt`` limited to the caller's rows (unchanged for admins)."""
        return stmt if self.is_admin else stmt.where(owner_column == self.user_id)
