"""Train a quality scorer on the imported sketches (TRAIN split), evaluate on TEST, save it."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from scoring.actions import (
    DEVICES,
    TrainingRequest,
    device_problem,
    do_create_scorer,
    do_evaluate_scorer,
    do_train_scorer,
)
from scoring.encoders import DEFAULT_ENCODER, ENCODERS
from scoring.errors import ScoringInputError
from scoring.management.commands.evaluate_scorer import format_summary
from scoring.model_io import DEFAULT_EPOCHS
from scoring.models import JobStatus, Variant


def _categories(values: list[str] | None) -> list[str] | None:
    if not values:
        return None
    return [name for value in values for name in value.split(",") if name.strip()]


def _json_object(text: str, option: str) -> dict:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CommandError(f"{option} is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise CommandError(f"{option} must be a JSON object")
    return value


class Command(BaseCommand):
    help = (
        "Train a GACL (or softmax) scorer on the TRAIN split of the imported sketches, evaluate it on the "
        "TEST split, and store its checkpoint, metrics and q-vs-θ figure. Runs in this process."
    )

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True, help="unique slug, e.g. gacl-cos-21cats")
        parser.add_argument("--variant", choices=Variant.values, default=Variant.COS)
        parser.add_argument("--no-soft-binning", action="store_true", help='the "w/o sbin" ablation')
        parser.add_argument("--encoder", choices=sorted(ENCODERS), default=DEFAULT_ENCODER)
        parser.add_argument("--encoder-kwargs", default="{}", help="JSON, e.g. '{\"feat_dim\": 256}'")
        parser.add_argument("--epochs", type=int, default=DEFAULT_EPOCHS)
        parser.add_argument("--batch-size", type=int, default=64)
        parser.add_argument("--lr", type=float, default=1e-3)
        parser.add_argument(
            "--categories",
            nargs="+",
            metavar="CATEGORY",
            help="names or slugs (space- or comma-separated); default: every category with train and test sketches",
        )
        parser.add_argument("--per-category", type=int, help="training sketches per category (default: all)")
        parser.add_argument("--device", choices=DEVICES, default="auto")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument(
            "--train-options",
            default="{}",
            help='JSON of further TrainConfig fields, e.g. \'{"tau": 2.0, "warmup_epochs": 1}\'',
        )
        parser.add_argument(
            "--no-sanity",
            action="store_true",
            help="skip the sanity report after training (run evaluate_scorer later)",
        )

    def handle(self, *args, **options):
        encoder_kwargs = _json_object(options["encoder_kwargs"], "--encoder-kwargs")
        extra = _json_object(options["train_options"], "--train-options")
        request = TrainingRequest(
            name=options["name"],
            variant=options["variant"],
            soft_binning=not options["no_soft_binning"],
            encoder=options["encoder"],
            encoder_kwargs=encoder_kwargs,
            categories=_categories(options["categories"]),
            per_category=options["per_category"],
            epochs=options["epochs"],
            batch_size=options["batch_size"],
            lr=options["lr"],
            seed=options["seed"],
            device=options["device"],
            extra=extra,
        )
        problem = device_problem(request.device)  # this command trains here, in this process
        if problem:
            raise CommandError(problem)
        try:
            scorer = do_create_scorer(request)
        except ScoringInputError as exc:
            raise CommandError(exc.message) from None
        categories = ", ".join(scorer.categories.order_by("slug").values_list("name", flat=True))
        self.stdout.write(
            f"Training {scorer.name} ({scorer.get_variant_display()}, encoder {scorer.encoder}, "
            f"seed {request.seed}) on {categories}"
        )
        self.stdout.flush()
        scorer = self._train(scorer.pk, request.epochs, options["verbosity"] > 0)
        if scorer.status != JobStatus.DONE:
            raise CommandError(
                f"{scorer.name}: {scorer.error}\nNo usable scorer was saved (status: {scorer.status})."
            )
        m = scorer.metrics
        rho = m.get("spearman_q_cos")
        self.stdout.write(
            self.style.SUCCESS(
                f"{scorer.name}: held-out top-1 {m['accuracy']:.3f} (chance {m['chance']:.3f}, n={m['n_test']}), "
                f"Spearman(q, cosθ_y) {'–' if rho is None else f'{rho:+.3f}'}, "
                f"{scorer.training_seconds:.0f} s on {scorer.device}"
            )
        )
        self.stdout.write(f"  checkpoint {scorer.checkpoint.name} sha256 {scorer.checkpoint_sha256}")
        self.stdout.write(f"  figure     {scorer.figure.name}")
        if not options["no_sanity"]:
            report = do_evaluate_scorer(scorer)
            self.stdout.write("Sanity report (held-out sketches, q falls when degraded):")
            for line in format_summary(report):
                self.stdout.write("  " + line)

    def _train(self, scorer_id: int, epochs: int, show: bool):
        bars: dict[str, tqdm] = {}

        def progress(stage: str, details: dict) -> None:
            if not show:
                return
            if stage == "encoding":
                bar = bars.get("encoding") or bars.setdefault(
                    "encoding", tqdm(total=details["total"], desc="encoding", unit="sketch", file=self.stderr)
                )
                bar.n = details["done"]
                bar.refresh()
            elif stage == "training":
                if "encoding" in bars:
                    bars.pop("encoding").close()
                bar = bars.get("training") or bars.setdefault(
                    "training", tqdm(total=epochs, desc="training", unit="epoch", file=self.stderr)
                )
                bar.set_postfix(loss=f"{details['loss']:.3f}", acc=f"{details['train_accuracy']:.3f}")
                bar.update(1)

        try:
            return do_train_scorer(scorer_id, progress)
        finally:
            for bar in bars.values():
                bar.close()
