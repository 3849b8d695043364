from django import forms
from django.conf import settings

from sketches.models import ImportBatch
from sketches.parsing import NDJSON_SUFFIXES


class ImportUploadForm(forms.Form):
    file = forms.FileField(help_text="Quick, Draw! .ndjson (simplified or raw) or sketch-rnn .npz")
    category = forms.CharField(
        required=False,
        max_length=ImportBatch._meta.get_field("category_name").max_length,
        help_text="Optional: every record's word must match it.",
    )
    skip_invalid = forms.BooleanField(required=False, help_text="Import the valid records, report the rest.")

    def clean_file(self):
        upload = self.cleaned_data["file"]
        limit = settings.SKETCHQ_MAX_UPLOAD_BYTES
        if upload.size > limit:
            raise forms.ValidationError(f"The file is {upload.size:,} bytes; the limit is {limit:,}.")
        name = upload.name.lower()
        if not (name.endswith(".npz") or any(name.endswith(s) for s in NDJSON_SUFFIXES)):
            raise forms.ValidationError("Upload a .ndjson, .jsonl or .npz file.")
        return upload
