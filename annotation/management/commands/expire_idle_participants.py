from django.core.management.base import BaseCommand
from django.utils import timezone

from annotation.actions import do_expire_idle_participants


class Command(BaseCommand):
    help = (
        "Mark participants idle for longer than their study's idle timeout as abandoned and give "
        "their unanswered planned pairs back to the pool. Safe to run from cron at any interval."
    )

    def handle(self, *args, **options):
        report = do_expire_idle_participants(timezone.now())
        self.stdout.write(
            f"{report.participants} idle participant(s) abandoned, {report.pairs_released} planned pair(s) released."
        )
