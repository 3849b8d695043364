"""Scorers, scoring runs and scores in the admin. Every state change calls an action."""

from __future__ import annotations

import json
import math
from urllib.parse import urlencode

from django.contrib import admin, messages
from django.shortcuts import get_object_or_404, redirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from scoring import actions, evaluation, selectors
from scoring.errors import ScoringInputError
from scoring.forms import TrainScorerForm
from scoring.models import JobStatus, Scorer, ScoringRun, SketchScore
from scoring.sanity import ALL
from sketches.models import Category, Split
from sketches.ownership import is_owner, owned_by
from sketches.staff import ReadOnlyAdminMixin
from sketches.templatetags.sketch_tags import sketch_thumbnail

SCORE_LIST_DISPLAY = [
    "thumbnail",
    "sketch_link",
    "category",
    "scorer",
    "q_value",
    "theta",
    "cos_value",
    "predicted_class",
    "correct",
    "split",
]
Q_COLUMN = SCORE_LIST_DISPLAY.index("q_value")


def scores_url(scorer: Scorer, category=None, best_first: bool = True) -> str:
    """The score list of one scorer (and category), best or worst q first."""
    query = {"scorer__id__exact": scorer.pk, "o": f"{'-' if best_first else ''}{Q_COLUMN}"}
    if category is not None:
        query["sketch__category__id__exact"] = category.pk
    return f"{reverse('admin:scoring_sketchscore_changelist')}?{urlencode(query)}"


def figure_url(scorer: Scorer, fmt: str = "png", compare: Scorer | None = None) -> str:
    url = reverse("scoring:figure", args=[scorer.pk, fmt])
    return f"{url}?{urlencode({'compare': compare.pk})}" if compare else url


def _number(value, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.{digits}f}"


#: The scorer's page: what it is, then how it was trained (all read-only).
SCORER_FIELDS = ["name", "variant", "soft_binning", "encoder", "category_list", "status", "error"]
TRAINING_FIELDS = [
    "device",
    "training_time",
    "created_by",
    "created_at",
    "finished_at",
    "checkpoint_file",
    "checkpoint_sha256",
    "config_json",
]


@admin.register(Scorer)
class ScorerAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "variant",
        "soft_binning",
        "encoder",
        "status",
        "accuracy",
        "spearman",
        "training_time",
        "device",
        "created_at",
    ]
    list_filter = ["status", "variant", "encoder"]
    search_fields = ["name"]
    actions = ["score_sketches", "train_again"]
    change_form_template = "admin/scoring/scorer/change_form.html"
    fieldsets = [
        (
            None,
            {"fields": SCORER_FIELDS},
        ),
        ("Training", {"fields": TRAINING_FIELDS}),
        ("Held-out evaluation (test split)", {"fields": ["metrics_table"]}),
    ]
    readonly_fields = [*SCORER_FIELDS, *TRAINING_FIELDS, "metrics_table"]  # a scorer is made by training

    # -- permissions: scorers are made by training, never edited -------------------

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        # Shared for reading and using; only the creator (or a superuser) deletes one.
        if obj is None:
            return request.user.is_superuser and super().has_delete_permission(request)
        return is_owner(request.user, obj, unowned_shared=True) and super().has_delete_permission(
            request, obj
        )

    def has_score_permission(self, request):
        return request.user.has_perm("scoring.add_scoringrun")

    def has_train_permission(self, request):
        return request.user.has_perm("scoring.add_scorer")

    # -- list columns ---------------------------------------------------------------

    @admin.display(description="top-1", ordering="metrics__accuracy")
    def accuracy(self, obj):
        return _number(obj.metrics.get("accuracy"))

    @admin.display(description="ρ(q, cosθ)")
    def spearman(self, obj):
        return _number(obj.metrics.get("spearman_q_cos"))

    @admin.display(description="training", ordering="training_seconds")
    def training_time(self, obj):
        seconds = obj.training_seconds
        if seconds is None:
            return "–"
        return f"{seconds:.1f} s" if seconds < 10 else f"{seconds:.0f} s"

    # -- change page fields ---------------------------------------------------------

    @admin.display(description="categories")
    def category_list(self, obj):
        return ", ".join(c.name for c in obj.categories.order_by("name")) or "–"

    @admin.display(description="checkpoint")
    def checkpoint_file(self, obj):
        return obj.checkpoint.name or "–"

    @admin.display(description="configuration")
    def config_json(self, obj):
        return render_to_string(
            "admin/includes/preformatted.html", {"text": json.dumps(obj.config, indent=1)}
        )

    @admin.display(description="metrics")
    def metrics_table(self, obj):
        m = obj.metrics
        if not m:
            return "–"
        categories = {c.name: c for c in obj.categories.all()}
        rows = []
        for name, summary in sorted(m.get("q_summary", {}).items()):
            category = categories.get(name)
            rows.append(
                {
                    "name": name,
                    "accuracy": _number(m.get("accuracy_per_category", {}).get(name)),
                    "q": [_number(summary.get(k), 1) for k in ("min", "p10", "median", "p90", "max")],
                    "best_url": scores_url(obj, category) if category is not None else "",
                    "worst_url": scores_url(obj, category, best_first=False) if category is not None else "",
                }
            )
        context = {
            "accuracy": _number(m.get("accuracy")),
            "chance": _number(m.get("chance")),
            "n_test": m.get("n_test"),
            "n_train": m.get("n_train"),
            "spearman": _number(m.get("spearman_q_cos")),
            "spearman_per_class": _number(m.get("spearman_q_cos_per_class")),
            "at_bounds": _number(m.get("fraction_at_bounds")),
            "rows": rows,
        }
        return render_to_string("admin/scoring/scorer/metrics.html", context)

    # -- pages ----------------------------------------------------------------------

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<int:pk>/score/", wrap(require_POST(self.score_view)), name="scoring_scorer_score"),
            path(
                "<int:pk>/evaluate/", wrap(require_POST(self.evaluate_view)), name="scoring_scorer_evaluate"
            ),
            path(
                "<int:pk>/train-again/",
                wrap(require_POST(self.train_again_view)),
                name="scoring_scorer_train_again",
            ),
        ] + super().get_urls()

    def add_view(self, request, form_url="", extra_context=None):
        """ "Add scorer" is "train a scorer": the form queues a training task on the gpu queue."""
        if not self.has_add_permission(request):
            messages.error(request, "You may not train scorers.")
            return redirect("admin:scoring_scorer_changelist")
        form = TrainScorerForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                scorer = actions.do_request_training(form.training_request(), user=request.user)
            except ScoringInputError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, f"Training of {scorer.name} is queued; its progress shows below.")
                return redirect("admin:scoring_scorer_change", scorer.pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "form": form,
            "title": "Train a scorer",
        }
        return TemplateResponse(request, "admin/scoring/scorer/train.html", context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        scorer = self.get_object(request, object_id)
        extra = dict(extra_context or {})
        if scorer is not None:
            compare = selectors.comparable_scorers(scorer)
            extra.update(
                can_score=self.has_score_permission(request) and scorer.status == JobStatus.DONE,
                can_train_again=self.has_train_permission(request)
                and is_owner(request.user, scorer, unowned_shared=True)
                and scorer.status != JobStatus.DONE,
                figure_png=figure_url(scorer),
                figure_svg=figure_url(scorer, "svg"),
                comparisons=[
                    (other, figure_url(scorer, "png", other), figure_url(scorer, "svg", other))
                    for other in compare[:4]
                ],
                best_url=scores_url(scorer),
                worst_url=scores_url(scorer, best_first=False),
                n_scores=selectors.score_count(scorer),
                runs=scorer.runs.order_by("-created_at")[:5],
                **sanity_context(scorer),
                **extremes_context(scorer, request.GET),
                can_evaluate=self.has_train_permission(request) and scorer.is_ready,
            )
        return super().change_view(request, object_id, form_url, extra)

    def score_view(self, request, pk: int):
        scorer = get_object_or_404(Scorer, pk=pk)
        if not self.has_score_permission(request):
            messages.error(request, "You may not start scoring runs.")
            return redirect("admin:scoring_scorer_change", pk)
        try:
            run = actions.do_start_scoring_run(scorer, user=request.user)
        except ScoringInputError as exc:
            messages.error(request, exc.message)
            return redirect("admin:scoring_scorer_change", pk)
        messages.success(request, f"Scoring run #{run.pk} queued: {run.total} sketches.")
        return redirect("admin:scoring_scoringrun_change", run.pk)

    def evaluate_view(self, request, pk: int):
        scorer = get_object_or_404(Scorer, pk=pk)
        if not self.has_train_permission(request):
            messages.error(request, "You may not evaluate scorers.")
        elif not scorer.is_ready:
            messages.error(request, f"{scorer.name} is not trained; there is nothing to evaluate.")
        else:
            actions.do_queue_evaluation(scorer)
            messages.success(request, f"The sanity report of {scorer.name} is queued; reload to see it.")
        return redirect("admin:scoring_scorer_change", pk)

    def train_again_view(self, request, pk: int):
        scorer = get_object_or_404(Scorer, pk=pk)
        if not self.has_train_permission(request):
            messages.error(request, "You may not train scorers.")
        elif not is_owner(request.user, scorer, unowned_shared=True):
            messages.error(
                request, f"{scorer.name} is another researcher's scorer: only they may retrain it."
            )
        else:
            try:
                actions.do_reset_for_training(scorer)
                messages.success(request, f"{scorer.name} is queued for training again.")
            except ScoringInputError as exc:
                messages.error(request, exc.message)
        return redirect("admin:scoring_scorer_change", pk)

    # -- list actions -----------------------------------------------------------------

    @admin.action(description="Score every sketch of their categories", permissions=["score"])
    def score_sketches(self, request, queryset):
        for scorer in queryset:
            try:
                run = actions.do_start_scoring_run(scorer, user=request.user)
            except ScoringInputError as exc:
                self.message_user(request, exc.message, messages.ERROR)
            else:
                self.message_user(request, f"{scorer.name}: run #{run.pk} queued ({run.total} sketches).")

    @admin.action(description="Train again (failed or stalled scorers)", permissions=["train"])
    def train_again(self, request, queryset):
        others = queryset.count() - owned_by(queryset, request.user, unowned_shared=True).count()
        if others:
            self.message_user(
                request, f"{others} scorer(s) of other researchers left alone.", messages.WARNING
            )
        for scorer in owned_by(queryset, request.user, unowned_shared=True):
            try:
                actions.do_reset_for_training(scorer)
            except ScoringInputError as exc:
                self.message_user(request, exc.message, messages.ERROR)
            else:
                self.message_user(request, f"{scorer.name} is queued for training again.")


def run_progress_fragment(run: ScoringRun) -> str:
    return render_to_string("scoring/progress.html#run-progress", {"run": run})


@admin.register(ScoringRun)
class ScoringRunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["__str__", "scorer", "status", "live_progress", "started_at", "finished_at", "created_by"]
    list_filter = ["status", "scorer"]
    list_select_related = ["scorer", "created_by"]
    actions = ["cancel"]
    change_form_template = "admin/scoring/scoringrun/change_form.html"
    change_list_template = "admin/scoring/scoringrun/change_list.html"
    readonly_fields = [
        "scorer",
        "category_list",
        "status",
        "total",
        "done",
        "task_batch_size",
        "error_list",
        "created_by",
        "created_at",
        "started_at",
        "finished_at",
    ]
    exclude = ["categories", "errors"]

    deletable = True  # start runs from a scorer (button or list action) or `manage.py score_sketches`

    def has_cancel_permission(self, request):
        return request.user.has_perm("scoring.add_scoringrun")

    @admin.display(description="progress")
    def live_progress(self, obj):
        return run_progress_fragment(obj)

    @admin.display(description="categories")
    def category_list(self, obj):
        return ", ".join(c.name for c in obj.categories.order_by("name")) or "–"

    @admin.display(description="errors")
    def error_list(self, obj):
        return (
            render_to_string("admin/includes/preformatted.html", {"text": "\n".join(obj.errors)})
            if obj.errors
            else "–"
        )

    @admin.action(description="Cancel (queued batches will do nothing)", permissions=["cancel"])
    def cancel(self, request, queryset):
        others = queryset.count() - owned_by(queryset, request.user, unowned_shared=True).count()
        if others:
            self.message_user(request, f"{others} run(s) of other researchers left alone.", messages.WARNING)
        n = sum(
            actions.do_cancel_run(run, user=request.user)
            for run in owned_by(queryset, request.user, unowned_shared=True)
        )
        self.message_user(request, f"{n} run(s) cancelled.")


@admin.register(SketchScore)
class SketchScoreAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Scores with thumbnails: filter a scorer and category, sort by q, see the best and worst at a glance."""

    list_display = SCORE_LIST_DISPLAY
    list_display_links = ["sketch_link"]
    list_filter = ["scorer", "sketch__category", "correct", "sketch__split"]
    list_select_related = ["sketch__category", "scorer", "predicted_class"]
    search_fields = ["=sketch__key_id"]
    ordering = ["scorer", "-q"]
    list_per_page = 60
    actions = None
    show_full_result_count = False
    readonly_fields = [
        "large_thumbnail",
        "sketch",
        "scorer",
        "q",
        "cos_theta_y",
        "predicted_class",
        "correct",
        "run",
        "scored_at",
    ]

    @admin.display(description="sketch")
    def thumbnail(self, obj):
        return sketch_thumbnail(obj.sketch_id, size=72)

    @admin.display(description="sketch")
    def large_thumbnail(self, obj):
        return sketch_thumbnail(obj.sketch_id, size=320)

    @admin.display(description="id", ordering="sketch_id")
    def sketch_link(self, obj):
        return f"#{obj.sketch_id}"

    @admin.display(description="category", ordering="sketch__category__name")
    def category(self, obj):
        return obj.sketch.category.name

    @admin.display(description="split", ordering="sketch__split")
    def split(self, obj):
        return obj.sketch.split

    @admin.display(description="q", ordering="q")
    def q_value(self, obj):
        return f"{obj.q:.3f}"

    @admin.display(description="cosθ_y", ordering="cos_theta_y")
    def cos_value(self, obj):
        return f"{obj.cos_theta_y:.3f}"

    @admin.display(description="θ (°)", ordering="-cos_theta_y")
    def theta(self, obj):
        return f"{math.degrees(math.acos(max(-1.0, min(1.0, obj.cos_theta_y)))):.1f}"


def sanity_context(scorer: Scorer) -> dict:
    """The sanity report for the scorer's page: pooled rows, per-category rows, the baseline's."""
    report = evaluation.report_of(scorer)
    if not report or not report.get("rows"):
        return {"sanity": None, "sanity_problem": evaluation.problem_of(scorer)}
    baseline = evaluation.softmax_baseline(scorer)
    rows = evaluation.comparison_rows(scorer, baseline)
    return {
        "sanity": report,
        "sanity_problem": evaluation.problem_of(scorer),
        "sanity_baseline": baseline,
        "sanity_pooled": [r for r in rows if r["category"] == ALL],
        "sanity_by_category": [r for r in rows if r["category"] != ALL],
        "sanity_figure_url": reverse("scoring:sanity_figure", args=[scorer.pk, "png"]),
    }


def extremes_url(scorer: Scorer, category: Category | None = None, split: str = Split.TEST) -> str:
    """The scorer's page showing one category's best and worst sketches."""
    query = {"split": split, **({"category": category.slug} if category is not None else {})}
    return f"{reverse('admin:scoring_scorer_change', args=[scorer.pk])}?{urlencode(query)}#extremes"


def extremes_context(scorer: Scorer, params) -> dict:
    """Best and worst 12 of one category (``?category=<slug>``, default the first) in one split
    (``?split=``, default test = held out). An unknown category or split is named, not a 500."""
    categories = list(scorer.categories.order_by("slug"))
    if not categories:
        return {"extremes": None}
    splits = [*Split.values, selectors.ALL_SPLITS]
    slug, split = params.get("category") or categories[0].slug, params.get("split") or Split.TEST
    problems = []
    chosen = next((c for c in categories if c.slug == slug), None)
    if chosen is None:
        problems.append(f"{scorer.name} has no category {slug!r}; showing {categories[0].name}.")
        chosen = categories[0]
    if split not in splits:
        problems.append(f"unknown split {split!r}; showing the test split.")
        split = Split.TEST
    problem = " ".join(problems) or None
    return {
        "extremes": selectors.extremes(scorer, chosen, split),
        "extremes_problem": problem,
        "extremes_categories": categories,
        "extremes_splits": splits,
    }
