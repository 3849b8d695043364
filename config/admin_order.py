"""The admin index in workflow order: Sketches → Scorers → Studies → Participants → Results.

Django sorts apps alphabetically; the researcher works through them in the data flow's order,
so the index lists the apps (and the models inside each, where it matters) in that order.
Apps not named here (users, tokens, ...) come last, alphabetically.
"""

from __future__ import annotations

APP_ORDER = ["sketches", "scoring", "studies", "annotation", "analysis"]
MODEL_ORDER = {
    "studies": ["Study", "GoldPair", "OutcomeCode", "PanelTerms"],
    "annotation": ["Participant", "StudyLinks", "Trial", "RefusedSubmission"],
}


def order_app_list(app_list: list[dict]) -> list[dict]:
    def app_key(app):
        label = app["app_label"]
        return (APP_ORDER.index(label) if label in APP_ORDER else len(APP_ORDER), app["name"])

    for app in app_list:
        wanted = MODEL_ORDER.get(app["app_label"])
        if wanted:
            app["models"].sort(
                key=lambda m: (
                    wanted.index(m["object_name"]) if m["object_name"] in wanted else len(wanted),
                    m["name"],
                )
            )
    return sorted(app_list, key=app_key)


def install(site) -> None:
    original = site.get_app_list

    def get_app_list(request, app_label=None):
        return order_app_list(original(request, app_label))

    site.get_app_list = get_app_list
