"""Every reader's language: the catalogs are complete and compiled, every string the code marks
for translation is in them, the reader-facing templates leave no words untranslated, and a
feed's pages, feeds and scripts speak its language."""

from __future__ import annotations

import ast
import gettext
import io
import re
import tokenize
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from django.conf import settings
from django.test import Client
from django.utils.translation.template import templatize

from feeds import services

ROOT = Path(__file__).resolve().parent.parent
LOCALE = ROOT / "feeds" / "locale"
LANGUAGES = [code for code, _ in settings.LANGUAGES]
TRANSLATED = [code for code in LANGUAGES if code != "en"]
DOMAINS = ["django", "djangojs"]
# Plug-in apps whose desk panels still speak English only; each one leaves this set once its
# words are translated (test_untranslated_plugins_are_only_those_still_in_english keeps it honest).
UNTRANSLATED_PLUGINS: set[str] = set()
# Plug-in apps: feeds/<app>/ with an apps.py, besides the core's own packages.
PLUGINS = sorted(
    path.parent.name
    for path in (ROOT / "feeds").glob("*/apps.py")
    if path.parent.name not in UNTRANSLATED_PLUGINS
)
# What readers see, and the desk: their templates, the scripts and the Python that words reach them from.
TEMPLATES = [
    *sorted((ROOT / "templates" / "feeds").glob("*.html")),
    ROOT / "templates" / "base.html",
    ROOT / "templates" / "404.html",
    ROOT / "templates" / "500.html",
    *sorted((ROOT / "templates" / "desk").glob("*.html")),
    *(path for app in PLUGINS for path in sorted((ROOT / "feeds" / app / "templates").rglob("*.html"))),
]
SCRIPTS = [
    *sorted((ROOT / "static" / "feeds").glob("*.js")),
    *sorted((ROOT / "static" / "desk").glob("*.js")),
    *(path for app in PLUGINS for path in sorted((ROOT / "feeds" / app / "static").rglob("*.js"))),
]
PYTHON = [
    ROOT / "feeds" / "models.py",
    ROOT / "feeds" / "race.py",
    ROOT / "feeds" / "desk" / "views.py",
    *sorted((ROOT / "feeds" / "kinds").glob("*.py")),
    *(
        path
        for app in PLUGINS
        for path in sorted((ROOT / "feeds" / app).rglob("*.py"))
        if "migrations" not in path.parts
    ),
]
CALLS = {"gettext", "gettext_lazy", "gettext_noop", "pgettext", "pgettext_lazy", "ngettext", "npgettext", "_"}
# Text in reader templates that is the same in every language.
UNTRANSLATABLE = {"Livefeed", "·", "(Atom)", "(RSS)", "(JSON Feed)", "(", ")", ".", "Ctrl+Enter"}


def catalog(language: str, domain: str):
    with (LOCALE / language / "LC_MESSAGES" / f"{domain}.po").open("rb") as po:
        return read_po(po, locale=language)


def messages(language: str, domain: str):
    return [message for message in catalog(language, domain) if message.id]


def key(context: str | None, msgid: str) -> tuple[str | None, str]:
    return (context or None, msgid)


def marked_in_code(text: str) -> set[tuple[str | None, str]]:
    """The (context, message) pairs of every gettext-style call in template, script or Python text."""
    found: set[tuple[str | None, str]] = set()
    for match in re.finditer(r"\b(n?p?gettext(?:_lazy|_noop)?|_)\(", text):
        strings: list[str] = []
        adjacent = False  # the last token was a string: a next one continues it ("a" "b" is "ab")
        try:
            for token in tokenize.generate_tokens(io.StringIO(text[match.end() :]).readline):
                if token.type == tokenize.STRING:
                    value = ast.literal_eval(token.string)
                    if adjacent:
                        strings[-1] += value
                    else:
                        strings.append(value)
                    adjacent = True
                elif token.string == ",":
                    adjacent = False
                elif token.type in (tokenize.NL, tokenize.NEWLINE, tokenize.INDENT):
                    continue
                else:
                    break
        except (tokenize.TokenError, SyntaxError, ValueError, IndentationError):
            pass
        name = match.group(1)
        if not strings:
            continue
        if name.startswith("npgettext") or name.startswith("pgettext"):
            if len(strings) >= 2:
                found.add(key(strings[0], strings[1]))
        else:
            found.add(key(None, strings[0]))
    return found


def test_every_catalog_is_complete_with_nothing_fuzzy_and_placeholders_kept():
    for language in LANGUAGES:
        for domain in DOMAINS:
            po = catalog(language, domain)
            for message in po:
                if not message.id:
                    continue
                where = (language, domain, message.context, message.id)
                strings = message.string if isinstance(message.string, tuple) else (message.string,)
                assert all(strings), ("untranslated", *where)
                assert not message.fuzzy, ("fuzzy", *where)
                assert not message.check(po), (message.check(po), *where)
            assert not po.obsolete, (language, domain, list(po.obsolete))


def test_the_compiled_catalogs_match_their_po_files():
    for language in LANGUAGES:
        for domain in DOMAINS:
            with (LOCALE / language / "LC_MESSAGES" / f"{domain}.mo").open("rb") as mo:
                compiled = gettext.GNUTranslations(mo)._catalog  # type: ignore[attr-defined]
            expected = {}
            for message in messages(language, domain):
                prefix = f"{message.context}\x04" if message.context else ""
                if isinstance(message.id, (list, tuple)):
                    for index, form in enumerate(message.string):
                        expected[(prefix + message.id[0], index)] = form
                else:
                    expected[prefix + message.id] = message.string
            compiled = {k: v for k, v in compiled.items() if k != ""}
            assert compiled == expected, (
                f"{language}/{domain}.mo is not compiled from its .po: run `manage.py compilemessages`"
            )


def test_every_marked_string_is_in_every_catalog():
    sources = {
        "django": "".join(templatize(path.read_text(), origin=str(path)) for path in TEMPLATES)
        + "".join(path.read_text() for path in PYTHON),
        "djangojs": "".join(path.read_text() for path in SCRIPTS),
    }
    for domain, text in sources.items():
        wanted = marked_in_code(text)
        assert len(wanted) > 20, (domain, wanted)
        for language in LANGUAGES:
            known = {
                key(message.context, message.id if isinstance(message.id, str) else message.id[0])
                for message in messages(language, domain)
            }
            missing = wanted - known
            assert not missing, (
                f"not in {language}/{domain}.po (run makemessages): {sorted(missing, key=str)}"
            )


def _words_left_in(path: Path) -> list[str]:
    """Text of a template outside tags, variables, translations, comments, scripts and attributes
    that carry no words."""
    text = path.read_text()
    text = re.sub(r"{%\s*blocktranslate.*?{%\s*endblocktranslate\s*%}", " ", text, flags=re.S)
    text = re.sub(r"{#.*?#}|{%.*?%}|{{.*?}}", " ", text, flags=re.S)
    text = re.sub(r"<script\b.*?</script>|<style\b.*?</style>", " ", text, flags=re.S)
    text = re.sub(r"<[^>]*>", " ", text)
    return [
        word
        for word in re.findall(r"[^\s]+", text)
        if re.search(r"[A-Za-z]", word) and word not in UNTRANSLATABLE
    ]


def test_reader_templates_leave_no_words_untranslated():
    for path in TEMPLATES:
        assert not _words_left_in(path), (path.name, _words_left_in(path))
        for attribute in re.findall(
            r'\b(?:aria-label|title|alt|placeholder)="([^"{]*[A-Za-z][^"{]*)"', path.read_text()
        ):
            assert attribute in UNTRANSLATABLE, (path.name, attribute)


def test_plugin_apps_templates_scripts_and_python_are_checked():
    assert "participation" in PLUGINS
    checked = {*TEMPLATES, *SCRIPTS, *PYTHON}
    participation = ROOT / "feeds" / "participation"
    for path in (
        participation / "templates" / "participation" / "_page_part.html",
        participation / "templates" / "participation" / "_desk_panel.html",
        participation / "static" / "participation" / "participation.js",
        participation / "static" / "participation" / "desk-participation.js",
        participation / "kind.py",
        participation / "api.py",
    ):
        assert path in checked, path


def test_untranslated_plugins_are_only_those_still_in_english():
    for app in UNTRANSLATED_PLUGINS:
        templates = sorted((ROOT / "feeds" / app / "templates").rglob("*.html"))
        assert any(_words_left_in(path) for path in templates), (
            f"feeds/{app} is translated now: take it out of UNTRANSLATED_PLUGINS"
        )


def test_marked_strings_are_found_in_templates_scripts_and_python():
    assert key(None, "No entries yet.") in marked_in_code(
        templatize('{% load i18n %}<p>{% translate "No entries yet." %}</p>')
    )
    assert key("feed status", "Live") in marked_in_code('pgettext("feed status", "Live")')
    assert key(None, "%(count)s new update") in marked_in_code(
        'ngettext("%(count)s new update", "%(count)s new updates", n)'
    )


@pytest.fixture
def spanish_feed(publisher):
    feed = services.create_feed(
        by=publisher, title="Gran Premio", slug="gran-premio", status="live", language="es"
    )
    services.update_race_status(
        feed=feed,
        by=publisher,
        changes={"flag": "yellow", "lap": 1200, "laps_total": 2000, "leader": "Okafor"},
    )
    services.create_entry(feed=feed, by=publisher, body="Salida.", key_event=True)
    return feed


@pytest.mark.django_db
def test_a_spanish_feed_page_is_in_spanish_with_its_lang(spanish_feed):
    page = Client().get(spanish_feed.get_absolute_url()).content.decode()
    assert '<html lang="es">' in page
    for words in (
        "Saltar al contenido",
        "Momentos clave",
        "Momento clave",
        "Enlace",
        "Ver primero lo más antiguo",
    ):
        assert words in page, words
    assert "Bandera amarilla" in page and "Vuelta 1&nbsp;200 de 2&nbsp;000" in page and "Líder" in page
    assert '"inLanguage": "es"' in page
    assert "/jsi18n/es/" in page
    for english in ("Skip to content", "Key events", "Copy link", "Caution", "Lap 1"):
        assert english not in page, english


@pytest.mark.django_db
def test_a_french_widget_and_syndication_feeds_say_their_language(publisher):
    feed = services.create_feed(
        by=publisher, title="Grand Prix", slug="grand-prix", status="ended", language="fr"
    )
    client = Client()
    widget = client.get(f"/feeds/{feed.slug}/embed/").content.decode()
    assert (
        '<html lang="fr"' in widget and "Le direct est terminé." in widget and "Suivre sur Livefeed" in widget
    )
    assert "<language>fr</language>" in client.get(f"/feeds/{feed.slug}/rss/").content.decode()
    assert 'xml:lang="fr"' in client.get(f"/feeds/{feed.slug}/atom/").content.decode()
    assert client.get(f"/feeds/{feed.slug}/feed.json").json()["language"] == "fr"


@pytest.mark.django_db
def test_an_english_feed_stays_in_english(live_feed):
    page = Client().get(live_feed.get_absolute_url()).content.decode()
    assert '<html lang="en">' in page and "No entries yet." in page and '"inLanguage": "en"' in page


@pytest.mark.django_db
def test_changing_a_feeds_language_redraws_its_race_status(publisher, live_feed):
    services.update_race_status(feed=live_feed, by=publisher, changes={"flag": "green"})
    services.update_feed(feed=live_feed, by=publisher, language="fr")
    live_feed.refresh_from_db()
    assert "Drapeau vert" in live_feed.race_html


def test_the_scripts_catalog_is_served_per_language(client):
    spanish = client.get("/jsi18n/es/")
    assert spanish.status_code == 200 and "public" in spanish["Cache-Control"]
    assert "Actualizando en directo" in spanish.content.decode()
    assert "Hors ligne" in client.get("/jsi18n/fr/").content.decode()
    assert client.get("/jsi18n/xx/").status_code == 404


@pytest.mark.django_db
def test_the_desk_speaks_its_users_language(client, publisher, live_feed):
    client.force_login(publisher)
    url = f"/admin/feeds/feed/{live_feed.pk}/desk/"
    french = client.get(url, HTTP_ACCEPT_LANGUAGE="fr-FR,fr;q=0.9").content.decode()
    assert '<html lang="fr"' in french and "/jsi18n/fr/" in french
    for words in (
        "Rédaction en direct",
        "Enregistrer le brouillon",
        "État de la course",
        "Audience de chaque publication",
    ):
        assert words in french, words
    english = client.get(url, HTTP_ACCEPT_LANGUAGE="en-US").content.decode()
    assert "Save draft" in english and "Reach of each entry" in english and "/jsi18n/en/" in english


@pytest.mark.django_db
def test_the_api_sets_and_shows_a_feeds_language(publisher):
    from rest_framework.test import APIClient

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {publisher.token}")
    created = api.post("/api/feeds/", {"title": "Carrera", "status": "live", "language": "es"}, format="json")
    assert created.status_code == 201 and created.json()["language"] == "es"
    slug = created.json()["slug"]
    assert api.patch(f"/api/feeds/{slug}/", {"language": "fr"}, format="json").json()["language"] == "fr"
    refused = api.patch(f"/api/feeds/{slug}/", {"language": "xx"}, format="json")
    assert refused.status_code == 400 and "language" in refused.json()
    assert APIClient().get(f"/api/feeds/{slug}/").json()["feed"]["language"] == "fr"


@pytest.mark.django_db
def test_the_desks_refusals_are_in_its_users_language(client, publisher, live_feed):
    client.force_login(publisher)
    answer = client.post(
        f"/admin/feeds/feed/{live_feed.pk}/desk/status/", {"status": "paused"}, HTTP_ACCEPT_LANGUAGE="es"
    )
    assert answer.status_code == 400
    assert answer.json() == {
        "detail": "Elige en directo, finalizado o borrador.",
        "errors": {"status": ["No válido."]},
    }
    english = client.post(f"/admin/feeds/feed/{live_feed.pk}/desk/status/", {"status": "paused"})
    assert english.json()["detail"] == "Choose live, ended or draft."
