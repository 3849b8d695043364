"""Settings for a bench worker that scores without overlapping database work and forward passes
(``SKETCHQ_SCORING_OVERLAP = False``), so ``bench_scoring_fast.py`` can time both paths."""

from config.settings import *  # noqa: F403

SKETCHQ_SCORING_OVERLAP = False
