"""Settings for the gunicorn that bench/bench_trials.py starts: the real ones plus a baseline URL."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.trials_server.urls"
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}
