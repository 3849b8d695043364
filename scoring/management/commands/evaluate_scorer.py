"""manage.py evaluate_scorer NAME: the sanity report of a trained scorer on its held-out sketches."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from scoring.actions import do_evaluate_scorer, get_scorer
from scoring.errors import ScoringInputError
from scoring.sanity import ALL


def format_summary(report: dict) -> list[str]:
    """One line per family × severity over all categories: share falls [Wilson 95 %], Spearman."""
    lines = [f"{'family':<10} {'sev':>3} {'n':>6} {'q falls':>8} {'95% interval':>15} {'Spearman':>9}"]
    for row in report["rows"]:
        if row["category"] != ALL:
            continue
        rho = "–" if row["spearman"] is None else f"{row['spearman']:+.3f}"
        interval = "[{:.1%}, {:.1%}]".format(row["low"], row["high"])
        lines.append(
            f"{row['family']:<10} {row['severity']:>3} {row['n']:>6} {row['share']:>8.1%} {interval:>15} {rho:>9}"
        )
    return lines


class Command(BaseCommand):
    help = (
        "Degrade the scorer's held-out (test split) sketches in four families at three severities and "
        "report, per family × severity × category, how often q falls (Wilson 95%) and Spearman(q, severity). "
        "Stores the report in the scorer's metrics (shown on its admin page and in study reports)."
    )

    def add_arguments(self, parser):
        parser.add_argument("name", help="the scorer's name")
        parser.add_argument(
            "--per-category", type=int, default=None, help="held-out sketches per category (default 200)"
        )
        parser.add_argument("--seed", type=int, default=0)

    def handle(self, *args, **options):
        try:
            scorer = get_scorer(options["name"])
            report = do_evaluate_scorer(scorer, per_category=options["per_category"], seed=options["seed"])
        except ScoringInputError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(
            f"{scorer.name}: sanity report on {report['n_sketches']} held-out sketches of "
            f"{len(report['categories'])} categories (seed {report['seed']})"
        )
        for line in format_summary(report):
            self.stdout.write("  " + line)
        if report["passed"]:
            self.stdout.write(
                self.style.SUCCESS(f"passed: every family ≥ {report['min_share']:.0%} at moderate severity")
            )
        else:
            self.stdout.write(
                self.style.WARNING(
                    f"FAILED: below {report['min_share']:.0%} at moderate severity in "
                    + ", ".join(report["failing_families"])
                )
            )
