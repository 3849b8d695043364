"""Every answer UPDATEs its participant's row; let PostgreSQL do it in place (a HOT update).

A HOT update writes no index entry, but only when no indexed column changes and the row's page
has room. The index on (status, last_seen_at) broke the first (every answer sets last_seen_at),
so each answer added an entry to all five indexes of the table and left its old version for
vacuum (issue 13). Now: an index on status alone (the idle sweep's in-progress filter) and pages
filled to 80 % on PostgreSQL, leaving room for the next version of a row beside it.
"""

from django.db import migrations, models

FILLFACTOR = 80


def _set_fillfactor(value):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return  # SQLite (the demo) has no fillfactor
        table = schema_editor.quote_name(apps.get_model("annotation", "Participant")._meta.db_table)
        schema_editor.execute(f"ALTER TABLE {table} SET (fillfactor = {int(value)})")

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("annotation", "0008_merge_bots_and_trial_types"),
        ("studies", "0014_alter_study_adaptive_random_start"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="participant",
            name="participant_idle_sweep",
        ),
        migrations.AddIndex(
            model_name="participant",
            index=models.Index(fields=["status"], name="participant_status"),
        ),
        migrations.RunPython(_set_fillfactor(FILLFACTOR), _set_fillfactor(100)),
    ]
