"""Domain errors the API turns into 4xx answers."""

from __future__ import annotations


class NotFound(Exception):
    """The object does not exist (or is not the caller's): 404."""


class Conflict(Exception):
    """The request is valid but the object's state forbids it now: 409."""


class Invalid(Exception):
    """A field's value is wrong in a way only the server can see: 422 naming the field.

    ``field`` may be a dotted path into the body (``search_space.filters``)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message

    @property
    def loc(self) -> list[str]:
        return ["body", *self.field.split(".")]


class TooMany(Exception):
    """The caller holds as much of something as a server limit allows: 429."""
