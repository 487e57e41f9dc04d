"""The services' refusals reach people in their language: the desk's user's browser language,
the API client's Accept-Language, English when nothing is asked."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import translation
from rest_framework.test import APIClient

from feeds import services
from feeds.models import Entry

pytestmark = pytest.mark.django_db

CONTRIBUTOR_PUBLISHING = {
    "en": "You may not publish entries; save a draft for an editor.",
    "es": "No puedes publicar entradas; guarda un borrador para un editor.",
    "fr": "Vous ne pouvez pas publier ; enregistrez un brouillon pour un éditeur.",
}
QUOTE_WITHOUT_WORDS = {"en": "Write the quote.", "es": "Escribe la cita.", "fr": "Écrivez la citation."}
QUOTE_SUMMARY = {
    "en": "Body: Write the quote.",
    "es": "Texto: Escribe la cita.",
    "fr": "Texte : Écrivez la citation.",
}
QUOTE_WITHOUT_SPEAKER = {
    "en": "The speaker is required.",
    "es": "Falta el autor de la cita.",
    "fr": "L’auteur de la citation est obligatoire.",
}


def desk_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def api_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {user.token}")
    return client


@pytest.mark.parametrize("language", ["es", "fr"])
def test_desk_refuses_a_contributors_publish_in_the_users_language(make_member, live_feed, language):
    client = desk_client(make_member("Contributor", "casey"))
    answer = client.post(
        reverse("admin:feeds_desk_entries", args=[live_feed.pk]),
        {"kind": "text", "body": "Now!", "publish": "on"},
        HTTP_ACCEPT_LANGUAGE=f"{language},en;q=0.5",
    )
    assert answer.status_code == 403
    assert answer.json() == {"detail": CONTRIBUTOR_PUBLISHING[language]}
    assert not Entry.objects.exists()


@pytest.mark.parametrize("language", ["en", "es", "fr"])
def test_desk_names_a_quotes_missing_field_in_the_users_language(publisher, live_feed, language):
    answer = desk_client(publisher).post(
        reverse("admin:feeds_desk_entries", args=[live_feed.pk]),
        {"kind": "quote", "speaker": "Kyle", "body": "", "publish": "on"},
        HTTP_ACCEPT_LANGUAGE=language,
    )
    assert answer.status_code == 400
    assert answer.json()["errors"] == {"body": [QUOTE_WITHOUT_WORDS[language]]}
    assert answer.json()["detail"] == QUOTE_SUMMARY[language]


def test_desk_refusals_stay_english_without_a_language(make_member, live_feed):
    answer = desk_client(make_member("Contributor", "casey")).post(
        reverse("admin:feeds_desk_entries", args=[live_feed.pk]),
        {"kind": "text", "body": "Now!", "publish": "on"},
    )
    assert answer.json() == {"detail": CONTRIBUTOR_PUBLISHING["en"]}


@pytest.mark.parametrize("language", ["en", "es", "fr"])
def test_api_refuses_a_contributors_publish_in_the_accept_language(make_member, live_feed, language):
    answer = api_client(make_member("Contributor", "casey")).post(
        f"/api/feeds/{live_feed.slug}/entries/",
        {"body": "Now!", "status": "published"},
        format="json",
        HTTP_ACCEPT_LANGUAGE=language,
    )
    assert answer.status_code == 403
    assert answer.json() == {"detail": CONTRIBUTOR_PUBLISHING[language]}
    assert "Accept-Language" in answer["Vary"]
    assert not Entry.objects.exists()


@pytest.mark.parametrize("language", ["es", "fr"])
def test_api_names_a_quotes_missing_speaker_in_the_accept_language(publisher, live_feed, language):
    answer = api_client(publisher).post(
        f"/api/feeds/{live_feed.slug}/entries/",
        {"kind": "quote", "body": "We had the pace.", "details": {}},
        format="json",
        HTTP_ACCEPT_LANGUAGE=language,
    )
    assert answer.status_code == 400
    assert answer.json() == {"speaker": [QUOTE_WITHOUT_SPEAKER[language]]}


def test_api_answers_in_english_when_no_language_is_asked(make_member, live_feed):
    answer = api_client(make_member("Contributor", "casey")).post(
        f"/api/feeds/{live_feed.slug}/entries/", {"body": "Now!", "status": "published"}, format="json"
    )
    assert answer.json() == {"detail": CONTRIBUTOR_PUBLISHING["en"]}


def test_api_words_its_own_errors_in_the_accept_language(live_feed):
    missing = APIClient().get("/api/feeds/no-such-race/", HTTP_ACCEPT_LANGUAGE="fr")
    assert missing.status_code == 404 and missing.json() == {"detail": "Ce direct n’existe pas."}
    bad = APIClient().get(f"/api/feeds/{live_feed.slug}/events/?after=x", HTTP_ACCEPT_LANGUAGE="es")
    assert bad.status_code == 400 and bad.json() == {"after": "Debe ser un número entero."}


def test_api_reads_keep_one_copy_for_every_language(live_feed):
    """A feed is served in its own language, so a cache need not keep one copy per Accept-Language."""
    answer = APIClient().get(f"/api/feeds/{live_feed.slug}/", HTTP_ACCEPT_LANGUAGE="fr")
    assert answer.status_code == 200
    assert "Accept-Language" not in answer.get("Vary", "")


def test_race_status_refusals_follow_the_active_language(publisher, live_feed):
    with translation.override("fr"), pytest.raises(ValidationError) as refused:
        services.update_race_status(feed=live_feed, by=publisher, changes={"lap": "x", "flag": "blue"})
    assert refused.value.message_dict == {
        "lap": ["Doit être un nombre entier."],
        "flag": ["Choisissez parmi : none, green, yellow, red, white, checkered."],
    }


def test_service_refusals_follow_the_active_language(make_member, live_feed):
    contributor = make_member("Contributor", "casey")
    with translation.override("es"), pytest.raises(PermissionDenied) as refused:
        services.create_entry(feed=live_feed, by=contributor, body="Now!", pinned=True, status="draft")
    assert str(refused.value) == "No puedes fijar entradas ni marcar momentos clave."


def test_a_reused_idempotency_key_is_refused_in_the_accept_language(publisher, live_feed):
    api = api_client(publisher)
    url = f"/api/feeds/{live_feed.slug}/entries/"
    assert api.post(url, {"body": "Go"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1").status_code == 201
    reused = api.post(
        url, {"body": "Stop"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1", HTTP_ACCEPT_LANGUAGE="fr"
    )
    assert reused.status_code == 422
    assert reused.json()["errors"] == {"Idempotency-Key": ["Déjà utilisée pour une autre requête."]}
    assert reused.json()["detail"].startswith("Ce Idempotency-Key a déjà servi pour une autre requête (POST ")


def test_the_desk_refuses_a_reused_idempotency_key_in_the_users_language(publisher, live_feed):
    client = desk_client(publisher)
    url = reverse("admin:feeds_desk_entries", args=[live_feed.pk])
    assert client.post(url, {"kind": "text", "body": "Go"}, HTTP_IDEMPOTENCY_KEY="k-2").status_code == 201
    reused = client.post(
        url, {"kind": "text", "body": "Stop"}, HTTP_IDEMPOTENCY_KEY="k-2", HTTP_ACCEPT_LANGUAGE="es"
    )
    assert reused.status_code == 422
    assert reused.json()["errors"] == {"Idempotency-Key": ["Ya se usó para otra petición."]}
