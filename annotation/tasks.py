from celery import shared_task
from django.utils import timezone

from annotation.actions import do_expire_idle_participants


@shared_task(acks_late=True)
def expire_idle_participants() -> dict:
    """The idle sweep (see ``annotation.expiry``). Safe to re-run and to run twice at once.

    Schedule it every few minutes with Celery beat, e.g. in settings::

        CELERY_BEAT_SCHEDULE = {"expire-idle-participants": {
            "task": "annotation.tasks.expire_idle_participants", "schedule": 300}}
    """
    report = do_expire_idle_participants(timezone.now())
    return {"participants": report.participants, "pairs_released": report.pairs_released}


@shared_task(acks_late=True)
def sync_prolific_submissions() -> dict:
    """Sync every running Prolific study that has a Prolific study id (``annotation.prolific.sync``):
    returned and timed-out submissions give their pairs back within one beat period. Does nothing
    without ``PROLIFIC_API_TOKEN``. Safe to re-run: a release happens once per participant."""
    from django.conf import settings

    from annotation.prolific.client import ProlificError
    from annotation.prolific.sync import client_from_settings, do_sync_submissions
    from studies.models import Panel, Study, StudyState

    if not settings.PROLIFIC_API_TOKEN:
        return {"skipped": "no PROLIFIC_API_TOKEN"}
    client = client_from_settings()
    studies = Study.objects.filter(
        panel=Panel.PROLIFIC,
        state__in=[StudyState.PILOT, StudyState.LIVE, StudyState.PAUSED],
        prolific_study_id__gt="",
    )
    done = {}
    for study in studies:
        try:
            done[study.slug] = do_sync_submissions(study, client).as_dict()
        except ProlificError as error:
            done[study.slug] = {"error": str(error)}
    return done
