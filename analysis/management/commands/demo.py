"""`make demo`: build the whole pipeline on the embedded default, then serve it.

Each app contributes one step as ``<app>/demo.py`` with ``run(say)``, which may
return links to print at the end as ``(label, path)`` pairs. Steps run in data-flow
order and are idempotent, so a second `make demo` reuses what exists.
"""

import importlib
import secrets

from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import BaseCommand

DEMO_STEPS = ["sketches.demo", "scoring.demo", "studies.demo", "annotation.demo", "analysis.demo"]
ADMIN_USER = "admin"


class Command(BaseCommand):
    help = "Migrate, import the sketches, train or load a scorer, build a demo study, and serve."

    def add_arguments(self, parser):
        parser.add_argument("--no-serve", action="store_true", help="set everything up, then exit")
        parser.add_argument("--addrport", default="127.0.0.1:8000")

    def handle(self, *args, **options):
        say = self.stdout.write
        call_command("migrate", verbosity=0)
        password = self._ensure_admin()
        links = [("Admin", "/admin/")]
        for name in DEMO_STEPS:
            try:
                step = importlib.import_module(name)
            except ModuleNotFoundError as exc:
                if exc.name != name:
                    raise
                continue
            links += step.run(say) or []
        base = f"http://{options['addrport']}"
        say("")
        say(self.style.SUCCESS("SketchQ demo is ready."))
        say(f"  Sign in as {ADMIN_USER!r} with password {password!r}")
        for label, path in links:
            say(f"  {label + ':':<24} {base}{path}")
        if not options["no_serve"]:
            call_command("runserver", options["addrport"], use_reloader=False)

    def _ensure_admin(self) -> str:
        password = secrets.token_urlsafe(12)
        user, _ = User.objects.get_or_create(username=ADMIN_USER, defaults={"email": "admin@example.org"})
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()
        return password
