"""Print signed entry links for a generic panel: one ``id<TAB>link`` line per participant id."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse

from studies import entry_links
from studies.models import Study


class Command(BaseCommand):
    help = "Signed entry links (?pid=…&sig=…) for a study's participants, one per id."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("ids", nargs="*", help="Participant ids (or --file).")
        parser.add_argument("--file", type=Path, help="A file with one participant id per line.")
        parser.add_argument(
            "--base-url",
            default="http://127.0.0.1:8000",
            help="The site's root, e.g. https://studies.example.org",
        )

    def handle(self, *args, slug, ids, file, base_url, **options):
        study = Study.objects.filter(slug=slug).first()
        if study is None:
            raise CommandError(f"no study {slug!r}")
        if file is not None:
            try:
                ids = ids + [line.strip() for line in file.read_text().splitlines() if line.strip()]
            except (OSError, UnicodeDecodeError) as error:
                raise CommandError(f"cannot read {file}: {error}") from error
        if not ids:
            raise CommandError("give participant ids, or --file")
        url = base_url.rstrip("/") + reverse("annotation:entry", args=[study.slug])
        try:
            links = entry_links.signed_links(study.entry_secret, study.pk, url, ids)
        except ValueError as error:
            raise CommandError(str(error)) from error
        if not study.require_signed_entry:
            self.stderr.write(f"note: {slug} does not require signed links yet (set it on the study)")
        for pid, link in links:
            self.stdout.write(f"{pid}\t{link}")
