from django.core.management.base import BaseCommand, CommandError

from analysis.crowd import CrowdError, simulate_crowd
from analysis.simulation import SimulationError
from studies.models import Study


def non_negative(raw: str) -> int:
    value = int(raw)
    if value < 0:
        raise ValueError(raw)
    return value


class Command(BaseCommand):
    help = (
        "Fill a launched study with simulated participants who go through the real participant pages "
        "(consent, practice, trials, breaks). Good workers follow Bradley–Terry on a latent quality "
        "drawn per sketch, independent of the compared scorers (or an --oracle scorer's q); spammers, "
        "always-left, left-biased, too-fast and inconsistent workers are planted for the screening to catch."
    )

    def add_arguments(self, parser):
        parser.add_argument("--study", required=True, help="the study's slug")
        parser.add_argument("--participants", type=non_negative, required=True, help="good workers")
        parser.add_argument("--spammers", type=non_negative, default=0, help="answer at random, fast")
        parser.add_argument("--left-biased", type=non_negative, default=0, help="press left 90%% of the time")
        parser.add_argument("--always-left", type=non_negative, default=0, help="press left every time")
        parser.add_argument(
            "--too-fast", type=non_negative, default=0, help="answer with some signal but in ~250 ms"
        )
        parser.add_argument(
            "--inconsistent", type=non_negative, default=0, help="a weak signal, near a coin flip"
        )
        parser.add_argument(
            "--thurstone", type=non_negative, default=0, help="good workers with probit noise"
        )
        parser.add_argument("--seed", type=int, default=0, help="same seed: same panel ids (re-runs resume)")
        parser.add_argument(
            "--oracle",
            help="a scorer NOT compared in the study whose q the latent quality follows "
            "(default: a latent drawn per sketch, independent of every scorer)",
        )
        parser.add_argument("--noise", type=float, default=0.05, help="sd of the latent quality's noise")
        parser.add_argument(
            "--base-url", help="drive a running server (e.g. http://127.0.0.1:8000) over HTTP"
        )

    def handle(self, *args, **options):
        study = Study.objects.filter(slug=options["study"]).first()
        if study is None:
            raise CommandError(f"no study with slug {options['study']!r}")
        if options["noise"] < 0:
            raise CommandError("--noise must be ≥ 0")
        counts = {
            "good": options["participants"],
            "thurstone": options["thurstone"],
            "spammer": options["spammers"],
            "left_biased": options["left_biased"],
            "always_left": options["always_left"],
            "too_fast": options["too_fast"],
            "inconsistent": options["inconsistent"],
        }
        verbose = options["verbosity"] > 1
        try:
            result = simulate_crowd(
                study, counts, seed=options["seed"], base_url=options["base_url"], oracle_name=options["oracle"],
                noise=options["noise"], say=self.stdout.write if verbose else None,
            )  # fmt: skip
        except (CrowdError, SimulationError) as error:
            raise CommandError(str(error)) from None
        self.stdout.write(result.summary())
