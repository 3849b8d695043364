"""The per-participant answer rate limit counted in the participant row (issue 13).

Every answer already UPDATEs its participant in its transaction; the window's start and count go
in the same statement, so an answer needs no round trip to the cache. Neither column is indexed,
so the update stays in place (HOT, migration 0009). Adding a column with a constant default
rewrites nothing on PostgreSQL.
"""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('annotation', '0009_participant_answers_update_in_place'),
    ]

    operations = [
        migrations.AddField(
            model_name='participant',
            name='answer_window',
            field=models.BigIntegerField(default=0, help_text="Start (Unix seconds) of the answer rate limit's current window; 0 before the first answer (annotation.ratelimit.count_answer)."),
        ),
        migrations.AddField(
            model_name='participant',
            name='answers_in_window',
            field=models.PositiveIntegerField(default=0, help_text='Answer requests counted in that window (accepted, replayed or refused).'),
        ),
    ]
