"""The pair trial's htmx fragment, written without the template engine (the answer's response).

Every answer returns the next trial's ``<main id="step">`` fragment; through Django's template
engine (``annotation/task.html#step`` including ``steps/trial.html``) that was about a fifth of
an answer's CPU (issue 13). :func:`pair_trial_fragment` writes the same bytes from the same
context with one format string. It covers only that case, an htmx request for a pair trial
outside the staff preview; everything else (best of K, single, feedback, breaks, pages without
JavaScript) goes through the templates, which stay the reference.

Escaping is the template's: every value is passed through ``conditional_escape`` (what ``{{ }}``
does under autoescape), so the pictures' ``data:`` URIs (``SafeString``) go as they are and any
text (question, category, notice, token) is escaped. ``tests/annotation/test_trial_html.py``
renders both ways over the cases that change the markup (category shown or not, "no
difference" offered or not, a notice, text with markup characters) and requires equal bytes.
"""

from __future__ import annotations

from django.conf import settings
from django.utils.formats import localize
from django.utils.html import conditional_escape

from studies.models import TrialType

_MAIN = '\n<main id="step" tabindex="-1" data-step="trial">\n\n{notice}\n{form}\n\n</main>\n'
_NOTICE = '<p class="notice" role="status">{}</p>'
_FORM = (
    '<form class="trial" method="post" action="{answer_url}" hx-post="{answer_url}" hx-target="#step" '
    'hx-swap="outerHTML" hx-sync="this:drop" hx-request=\'{{"timeout": 15000}}\' data-trial>\n\n'
    '<input type="hidden" name="token" value="{token}">\n'
    '<input type="hidden" name="client_ms" value="">\n'
    '<input type="hidden" name="tm" value="">\n'
    '<div class="progress"><span>{label}</span><progress max="{total}" value="{done}">{percent}%</progress></div>\n'
    "{category}\n"
    "<h1>{question}</h1>\n"
    '<div class="pair">\n'
    '<button type="submit" name="choice" value="left" class="sketch"><img src="{left_url}" alt="Left sketch" '
    'width="320" height="320"><span class="key">← or F</span></button>\n'
    '<button type="submit" name="choice" value="right" class="sketch"><img src="{right_url}" alt="Right sketch" '
    'width="320" height="320"><span class="key">→ or J</span></button>\n'
    "</div>\n"
    "{none}\n\n"
    '<p class="error" data-error role="alert" hidden></p>\n'
    "</form>\n"
)
_CATEGORY = '<p class="category" data-category>Both are drawings of: <strong>{}</strong></p>'
_NONE = '<button type="submit" name="choice" value="none" class="none">No visible difference <span class="key">↓ or N</span></button>'


def _text(value) -> str:
    """What ``{{ value }}`` writes under autoescape. Whole numbers are localized as the template
    does only when asked for (``USE_THOUSAND_SEPARATOR``); otherwise their digits, at a fraction
    of ``localize``'s cost."""
    if type(value) is int and not settings.USE_THOUSAND_SEPARATOR:
        return str(value)
    return conditional_escape(localize(value))


def pair_trial_fragment(context: dict) -> str | None:
    """The htmx fragment of a pair trial step, as the templates would render it; None for any
    other screen (the caller renders the templates)."""
    if (
        context.get("step_name") != "trial"
        or context.get("trial_type") != TrialType.PAIR
        or context.get("options")
        or context.get("preview")
        or context.get("prefetch")
    ):
        return None
    category, notice = context["category"], context["notice"]
    form = _FORM.format(
        answer_url=_text(context["answer_url"]),
        token=_text(context["token"]),
        label=_text(context["label"]),
        total=_text(context["total"]),
        done=_text(context["done"]),
        percent=_text(context["percent"]),
        category=_CATEGORY.format(_text(category)) if category else "",
        question=_text(context["question"]),
        left_url=_text(context["left_url"]),
        right_url=_text(context["right_url"]),
        none=_NONE if context["allow_none"] else "",
    )
    return _MAIN.format(notice=_NOTICE.format(_text(notice)) if notice else "", form=form)
