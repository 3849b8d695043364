"""The one error a study action raises when the configuration cannot work."""

from __future__ import annotations


class StudyConfigError(Exception):
    """The study cannot do what was asked; ``messages`` says what is wrong, one line each."""

    def __init__(self, messages: list[str] | str):
        self.messages: list[str] = [messages] if isinstance(messages, str) else list(messages)
        super().__init__("; ".join(self.messages))
