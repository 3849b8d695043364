"""Errors the scoring app reports to people: bad input, refused before anything is written."""

from __future__ import annotations


class ScoringInputError(ValueError):
    """A request the scoring app refuses, with a message for the person who made it.

    Raised by the actions before they write anything; commands print it, the
    admin shows it as an error message, tasks record it on their row.
    """

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class CheckpointError(ScoringInputError):
    """A scorer's checkpoint is missing, unreadable, or not the file whose sha256 was recorded."""
