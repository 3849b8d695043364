"""Who may enter: signed links for generic panels, Prolific's STUDY_ID, and a cap per network
so that made-up ids cannot fill a study, while a real Prolific launch still gets through."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.test import Client
from rest_framework.test import APIClient

from annotation.admission import network_entry_cap
from annotation.models import Participant
from annotation.network import network_of
from studies.entry_links import entry_signature, signature_matches, signed_links
from tests.annotation.factories import make_running_study

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


def from_address(address: str) -> Client:
    return Client(REMOTE_ADDR=address)


def enter_and_consent(client: Client, study, query: str) -> int:
    """Status of the entry; a participant let in also accepts the consent (takes a place)."""
    response = client.get(f"/p/{study.slug}/{query}")
    if response.status_code == 302:
        client.post(f"/p/{study.slug}/consent/", {"decision": "accept"})
    return response.status_code


# -- the pure parts ---------------------------------------------------------------------------


def test_a_signature_binds_the_key_the_study_and_the_id():
    sig = entry_signature("key", 7, "worker-1")
    assert len(sig) == 32 and sig == entry_signature("key", 7, "worker-1")
    assert len({sig, entry_signature("key", 8, "worker-1"), entry_signature("key", 7, "worker-2")}) == 3
    assert sig != entry_signature("other-key", 7, "worker-1")
    assert signature_matches("key", 7, "worker-1", sig) and signature_matches(
        "key", 7, "worker-1", sig.upper()
    )
    for bad in (None, "", sig[:-1], sig[:-1] + "0" if sig[-1] != "0" else sig[:-1] + "1", "x" * 5000):
        assert not signature_matches("key", 7, "worker-1", bad)


def test_links_are_made_per_id_and_bad_ids_are_named():
    links = signed_links("key", 7, "https://x.org/p/s/", ["a", "b", "a", " c "])
    assert [pid for pid, _ in links] == ["a", "b", "c"]
    assert links[0][1] == f"https://x.org/p/s/?pid=a&sig={entry_signature('key', 7, 'a')}"
    with pytest.raises(ValueError, match="at most 64"):
        signed_links("key", 7, "https://x.org/p/s/", ["ok", "x" * 65])


@pytest.mark.parametrize(
    ("address", "network"),
    [
        ("198.51.100.77", "198.51.100.0/24"),
        ("2001:db8:abcd:12::1", "2001:db8:abcd::/48"),
        ("::ffff:198.51.100.9", "198.51.100.0/24"),
        ("127.0.0.1", None),  # loopback: tests, the demo's simulated crowd
        ("10.1.2.3", None),  # private: an untrusted proxy in front would make everyone one network
        ("::1", None),
        ("not an address", None),
        ("", None),
    ],
)
def test_the_network_of_an_address(address, network):
    assert network_of(address) == network


def test_the_cap_is_the_setting_and_never_more_than_a_fifth_of_the_places():
    from studies.models import Study

    assert network_entry_cap(Study(target_participants=5, new_entries_per_network_hour=10)) == 1
    assert network_entry_cap(Study(target_participants=40, new_entries_per_network_hour=10)) == 8
    assert network_entry_cap(Study(target_participants=500, new_entries_per_network_hour=10)) == 10
    assert network_entry_cap(Study(target_participants=500, new_entries_per_network_hour=0)) == 0


# -- the entry ------------------------------------------------------------------------------


def test_five_made_up_ids_from_one_network_cannot_fill_a_five_place_study():
    study = make_running_study("five-places", target_participants=5, panel="generic")
    statuses = [
        enter_and_consent(from_address(f"198.51.100.{10 + i}"), study, f"?pid=made-up-{i}") for i in range(5)
    ]
    assert statuses.count(302) == 1 and statuses.count(429) == 4
    assert Participant.objects.filter(study=study).taking_a_place().count() == 1
    refused = from_address("198.51.100.99").get(f"/p/{study.slug}/?pid=made-up-5")
    assert "Too many people have just started from your network" in refused.content.decode()
    # a real participant from elsewhere still gets a place
    assert enter_and_consent(from_address("203.0.113.5"), study, "?pid=real-person") == 302
    assert Participant.objects.filter(study=study).taking_a_place().count() == 2


def test_a_returning_participant_is_never_counted_again():
    study = make_running_study("returning", target_participants=5, panel="generic")
    client = from_address("198.51.100.10")
    assert all(client.get(f"/p/{study.slug}/?pid=back-again").status_code == 302 for _ in range(4))


def test_a_prolific_launch_of_hundreds_from_different_networks_gets_through():
    study = make_running_study(
        "prolific-launch", target_participants=300, panel="prolific", prolific_study_id="65f0prolific"
    )
    statuses = [
        from_address(f"{20 + i // 250}.{i % 250}.{(7 * i) % 250}.{1 + i % 200}")
        .get(f"/p/{study.slug}/?PROLIFIC_PID=5f{i:022x}&STUDY_ID=65f0prolific&SESSION_ID=s{i}")
        .status_code
        for i in range(300)
    ]
    assert statuses == [302] * 300
    assert Participant.objects.filter(study=study).count() == 300


def test_a_prolific_link_for_another_study_is_refused_clearly():
    study = make_running_study("prolific-own-id", panel="prolific", prolific_study_id="65f0prolific")
    wrong = Client().get(f"/p/{study.slug}/?PROLIFIC_PID=5f1&STUDY_ID=someone-elses&SESSION_ID=s")
    assert wrong.status_code == 403
    assert "This link belongs to another study" in wrong.content.decode()
    no_study_id = Client().get(f"/p/{study.slug}/?pid=5f1")  # the generic parameter is no way around it
    assert no_study_id.status_code == 403
    assert not Participant.objects.filter(study=study).exists()
    assert (
        Client().get(f"/p/{study.slug}/?PROLIFIC_PID=5f1&STUDY_ID=65f0prolific&SESSION_ID=s").status_code
        == 302
    )


def test_a_prolific_study_without_its_id_set_works_as_before():
    study = make_running_study("prolific-no-id", panel="prolific")
    assert (
        Client().get(f"/p/{study.slug}/?PROLIFIC_PID=5f1&STUDY_ID=anything&SESSION_ID=s").status_code == 302
    )


def test_a_study_that_requires_signed_links_refuses_unsigned_and_altered_ones(researcher):
    study = make_running_study("signed-only", panel="generic", require_signed_entry=True, owner=researcher)
    api = APIClient()
    api.force_authenticate(researcher)
    made = api.post(f"/api/studies/{study.slug}/entry-links/", {"ids": ["w-1", "w-2"]}, format="json")
    assert made.status_code == 200 and made.data["required"] is True
    link_1, link_2 = (row["url"] for row in made.data["links"])
    path_1 = link_1.removeprefix("http://testserver")

    unsigned = Client().get(f"/p/{study.slug}/?pid=w-1")
    assert unsigned.status_code == 403 and "This link is not valid" in unsigned.content.decode()
    sig_2 = link_2.split("sig=")[1]
    assert Client().get(f"/p/{study.slug}/?pid=w-1&sig={sig_2}").status_code == 403  # another id's
    assert not Participant.objects.filter(study=study).exists()

    assert Client().get(path_1).status_code == 302
    assert list(Participant.objects.filter(study=study).values_list("panel_id", flat=True)) == ["w-1"]
    assert Client().get(f"/p/{study.slug}/?pid=w-1").status_code == 403  # no taking over w-1 either


def test_bad_ids_for_links_get_a_400_naming_them(researcher):
    study = make_running_study("signed-bad-ids", panel="generic", owner=researcher)
    api = APIClient()
    api.force_authenticate(researcher)
    response = api.post(f"/api/studies/{study.slug}/entry-links/", {"ids": ["ok", "x" * 65]}, format="json")
    assert response.status_code == 400


def test_the_admin_makes_signed_links_for_editors_only(researcher, client):
    from django.contrib.auth.models import Permission, User

    study = make_running_study("signed-admin", panel="generic", require_signed_entry=True, owner=researcher)
    client.force_login(researcher)
    url = f"/admin/annotation/studylinks/{study.pk}/signed-links/"
    assert study.entry_secret in client.get(url).content.decode()  # the recipe, for the panel
    page = client.post(url, {"ids": "alpha\nbeta\n"}).content.decode()
    assert f"sig={entry_signature(study.entry_secret, study.pk, 'beta')}" in page
    assert (
        "Make signed entry links"
        in client.get(f"/admin/annotation/studylinks/{study.pk}/change/").content.decode()
    )

    viewer = User.objects.create_user("viewer", is_staff=True)
    viewer.user_permissions.add(*Permission.objects.filter(codename__startswith="view_"))
    study.shared_with.add(viewer)
    client.force_login(viewer)
    assert client.get(url).status_code == 404  # the key is for the study's editors


def test_the_command_prints_one_working_link_per_id():
    study = make_running_study("signed-command", panel="generic", require_signed_entry=True)
    out = io.StringIO()
    call_command("make_entry_links", study.slug, "p-1", "p-2", "--base-url", "http://testserver", stdout=out)
    lines = out.getvalue().strip().splitlines()
    assert [line.split("\t")[0] for line in lines] == ["p-1", "p-2"]
    assert Client().get(lines[1].split("\t")[1].removeprefix("http://testserver")).status_code == 302


def test_a_prolific_study_cannot_launch_requiring_signed_links():
    from studies.actions import do_launch_study
    from studies.errors import StudyConfigError
    from tests.factories import make_scored_study

    study = make_scored_study("prolific-signed", panel="prolific", require_signed_entry=True)
    with pytest.raises(StudyConfigError, match="Prolific cannot sign"):
        do_launch_study(study)
