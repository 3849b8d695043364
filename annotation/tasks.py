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
