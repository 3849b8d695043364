"""Preview (dry run) or freeze a study's pair plan, and optionally launch it, from the shell."""

from django.core.management.base import BaseCommand, CommandError

from studies import lifecycle, planning
from studies.errors import StudyConfigError
from studies.models import Study
from studies.selectors import plan_table, stored_plan_counts


class Command(BaseCommand):
    help = "Show a study's pair plan per category × method × level; --freeze stores it; --launch/--pilot opens it."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--freeze", action="store_true", help="store the plan (draft studies only)")
        launch = parser.add_mutually_exclusive_group()
        launch.add_argument("--launch", action="store_true", help="then launch it live")
        launch.add_argument("--pilot", action="store_true", help="then launch it as a pilot")
        parser.add_argument(
            "--override-reason",
            default="",
            help="launch live although a compared scorer fails (or lacks) its sanity report; recorded in the plan",
        )

    def handle(self, *args, slug, freeze, launch, pilot, override_reason="", **options):
        study = Study.objects.filter(slug=slug).first()
        if study is None:
            raise CommandError(f"no study with slug {slug!r}")
        try:
            if freeze and study.plan_frozen_at is None:
                planning.do_freeze_plan(study)
            if launch or pilot:
                lifecycle.do_launch_study(study, pilot=pilot, override_reason=override_reason)
                for record in (study.plan_summary or {}).get("scorer_sanity", [])[-1:]:
                    if record.get("state") == study.state:
                        self.stderr.write("warning: " + "; ".join(record["problems"]))
        except StudyConfigError as error:
            raise CommandError("refused:\n  " + "\n  ".join(error.messages)) from None
        summary = planning.preview_plan(study)
        self._print(summary, stored_plan_counts(study) if summary["frozen"] else None)
        self.stdout.write(
            f"{study.slug}: {study.state}, plan {'frozen' if summary['frozen'] else 'not frozen (dry run)'}"
        )
        if summary.get("problems"):
            raise CommandError("this configuration cannot be frozen:\n  " + "\n  ".join(summary["problems"]))

    def _print(self, summary: dict, stored) -> None:
        table = plan_table(summary, stored)
        head = (
            f"{'category':<16}{'method':<22}"
            + "".join(f"{lv:>12}" for lv in table["levels"])
            + f"{'total':>9}"
        )
        self.stdout.write(head)
        for row in table["rows"]:
            cells = "".join(f"{c['count']:>12}" for c in row["levels"])
            self.stdout.write(f"{row['category'][:15]:<16}{row['scorer'][:21]:<22}{cells}{row['total']:>9}")
        self.stdout.write(
            f"{'all':<38}" + "".join(f"{n:>12}" for n in table["totals"]) + f"{table['total']:>9}"
        )
        for scorer in summary.get("scorers", []):
            self.stdout.write(
                f"scorer {scorer['name']}: checkpoint sha256 {scorer['checkpoint_sha256'] or 'none'}"
            )
