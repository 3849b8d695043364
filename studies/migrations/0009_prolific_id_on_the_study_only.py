from django.db import migrations


def copy_ids_to_the_study(apps, schema_editor):
    """Keep any Prolific id set on the panel terms: it now lives on the study only."""
    PanelTerms = apps.get_model("studies", "PanelTerms")
    Study = apps.get_model("studies", "Study")
    for terms in PanelTerms.objects.exclude(prolific_study_id=""):
        Study.objects.filter(pk=terms.study_id, prolific_study_id="").update(
            prolific_study_id=terms.prolific_study_id
        )


class Migration(migrations.Migration):
    dependencies = [("studies", "0008_merge_questionnaires")]

    operations = [
        migrations.RunPython(copy_ids_to_the_study, migrations.RunPython.noop),
        migrations.RemoveField(model_name="panelterms", name="prolific_study_id"),
    ]
