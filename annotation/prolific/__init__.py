"""Prolific: the API client (``client``), the actions that use it (``sync``) and the exports (``export``)."""
