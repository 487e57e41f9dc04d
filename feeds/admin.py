"""The editors' admin. Every save and delete goes through the services, so it reaches readers
exactly as the API's writes do."""

from __future__ import annotations

import functools
import zoneinfo
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from . import kinds, roles, services
from .desk.forms import KindFields
from .kinds import forms as kinds_forms
from .models import CORRECTION_NOTE_MAX_LENGTH, ApiToken, Entry, Feed

ENTRY_FORM_FIELDS = ["kind", "headline", "body", "status", "pinned", "key_event", "publish_at"]


def _changes(form: forms.ModelForm, names: list[str]) -> dict[str, Any]:
    return {name: form.cleaned_data[name] for name in form.changed_data if name in names}


def labelled(formfield: forms.Field | None, label: str) -> forms.Field | None:
    """Name the controls that Django's admin shows without a <label> of their own (a tabular
    inline's cells sit under a column heading; a split date-time shows "Date:" as plain text),
    so screen readers say what each one is."""
    if formfield is None:
        return None
    widget = formfield.widget
    while hasattr(widget, "widget"):  # the admin's related-object and read-only wrappers
        widget = widget.widget
    if isinstance(widget, forms.SplitDateTimeWidget):
        widget.widgets[0].attrs["aria-label"] = f"{label}: date"
        widget.widgets[1].attrs["aria-label"] = f"{label}: time"
    elif not isinstance(widget, forms.HiddenInput):
        widget.attrs["aria-label"] = label
    return formfield


class QuickEntryForm(forms.Form):
    """The one-box composer on a feed's page."""

    headline = forms.CharField(max_length=200, required=False)
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), required=False)
    publish = forms.BooleanField(required=False, initial=True, label="Publish now")


class InlineEntryForm(forms.ModelForm):
    """A row of the feed page's entry list, carrying the version it was loaded at."""

    loaded_version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["loaded_version"].initial = self.instance.version


class EntryInlineFormSet(forms.BaseInlineFormSet):
    def add_fields(self, form: forms.Form, index: int | None) -> None:
        super().add_fields(form, index)
        if "DELETE" in form.fields:
            labelled(form.fields["DELETE"], "Delete")


class EntryInline(admin.TabularInline):
    model = Entry
    form = InlineEntryForm
    formset = EntryInlineFormSet
    fields = ["headline", "body", "status", "pinned", "key_event", "published_at", "author", "loaded_version"]
    readonly_fields = ["published_at", "author"]
    extra = 0
    show_change_link = True
    ordering = ["-published_at", "-id"]
    formfield_overrides = {}

    def get_queryset(self, request: HttpRequest) -> QuerySet[Entry]:
        return super().get_queryset(request).filter(deleted_at__isnull=True).select_related("author")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # New entries come from the composer above the form, which posts them at once.
        return False

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "body":
            kwargs["widget"] = forms.Textarea(attrs={"rows": 2, "cols": 50})
        formfield = super().formfield_for_dbfield(db_field, request, **kwargs)
        return labelled(formfield, str(getattr(db_field, "verbose_name", db_field.name)).capitalize())


@admin.register(Feed)
class FeedAdmin(admin.ModelAdmin):
    list_display = ["title", "status", "coverage_start", "coverage_end", "seq", "desk_link", "reader_link"]
    list_filter = ["status", "language"]
    search_fields = ["title", "slug"]
    prepopulated_fields = {"slug": ["title"]}
    # The race status is run from the desk, one click per flag change.
    readonly_fields = ["seq", "desk_link", "reader_link", "race_status"]
    exclude = ["race"]
    inlines = [EntryInline]
    change_form_template = "admin/feeds/feed/change_form.html"

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "time_zone":
            kwargs["widget"] = forms.Select(
                choices=[(name, name) for name in sorted(zoneinfo.available_timezones())]
            )
        formfield = super().formfield_for_dbfield(db_field, request, **kwargs)
        if isinstance(db_field, models.DateTimeField):
            return labelled(formfield, str(db_field.verbose_name).capitalize())
        return formfield

    def get_readonly_fields(self, request: HttpRequest, obj: Feed | None = None) -> list[str]:
        fields = list(super().get_readonly_fields(request, obj))
        return fields + ["slug"] if obj else fields

    def changeform_view(
        self, request: HttpRequest, object_id: str | None = None, *args: Any, **kwargs: Any
    ) -> HttpResponse:
        """A stale edit in the entry list undoes the whole save (it runs in one transaction) and
        says so, instead of overwriting a colleague's newer text."""
        try:
            return super().changeform_view(request, object_id, *args, **kwargs)
        except services.StaleEdit as exc:
            messages.error(request, str(exc))
        return HttpResponseRedirect(request.get_full_path())

    def get_prepopulated_fields(self, request: HttpRequest, obj: Feed | None = None) -> dict:
        return {} if obj else self.prepopulated_fields

    @admin.display(description="Live desk")
    def desk_link(self, feed: Feed) -> str:
        if not feed.pk:
            return "—"
        return format_html('<a href="{}">Open the desk</a>', reverse("admin:feeds_feed_desk", args=[feed.pk]))

    @admin.display(description="Race status")
    def race_status(self, feed: Feed) -> str:
        return format_html("{}", feed.race_html) if feed.race_html else "—"

    @admin.display(description="Reader page")
    def reader_link(self, feed: Feed) -> str:
        if not feed.pk or not feed.is_visible_to_readers:
            return "—"
        return format_html(
            '<a href="{}" target="_blank" rel="noopener">{}</a>', feed.get_absolute_url(), "Open"
        )

    def save_model(self, request: HttpRequest, obj: Feed, form: forms.ModelForm, change: bool) -> None:
        names = ["title", "summary", "status", "coverage_start", "coverage_end", "time_zone", "language"]
        if change:
            services.update_feed(feed=obj, by=request.user, **_changes(form, names))
        else:
            created = services.create_feed(
                by=request.user, slug=form.cleaned_data["slug"], **{n: form.cleaned_data[n] for n in names}
            )
            obj.pk = created.pk
            obj.refresh_from_db()

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        if formset.model is not Entry:
            return super().save_formset(request, form, formset, change)
        # The admin's change message reads these lists, which formset.save() would have filled.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for entry_form in formset.initial_forms:
            entry = entry_form.instance
            if formset.can_delete and formset._should_delete_form(entry_form):
                services.delete_entry(entry=entry, by=request.user)
                formset.deleted_objects.append(entry)
            elif entry_form.has_changed():
                services.update_entry(
                    entry=entry,
                    by=request.user,
                    expected_version=entry_form.cleaned_data.get("loaded_version"),
                    **_changes(entry_form, ENTRY_FORM_FIELDS),
                )
                formset.changed_objects.append((entry, entry_form.changed_data))

    def get_urls(self) -> list:
        from .desk.urls import desk_urls

        return [
            *desk_urls(self.admin_site),
            path(
                "<int:feed_id>/post-entry/",
                self.admin_site.admin_view(self.post_entry_view),
                name="feeds_feed_post_entry",
            ),
            *super().get_urls(),
        ]

    def post_entry_view(self, request: HttpRequest, feed_id: int) -> HttpResponse:
        """Post from the composer at the top of a feed's page and come back to it."""
        feed = get_object_or_404(Feed, pk=feed_id)
        back = reverse("admin:feeds_feed_change", args=[feed.pk])
        if request.method != "POST":
            return HttpResponseRedirect(back)
        form = QuickEntryForm(request.POST)
        if not form.is_valid():
            messages.error(request, "The entry could not be posted: " + form.errors.as_text())
            return HttpResponseRedirect(back)
        status = Entry.Status.PUBLISHED if form.cleaned_data["publish"] else Entry.Status.DRAFT
        try:
            services.create_entry(
                feed=feed,
                by=request.user,
                headline=form.cleaned_data["headline"],
                body=form.cleaned_data["body"],
                status=status,
            )
        except ValidationError as exc:
            messages.error(request, "The entry could not be posted: " + " ".join(exc.messages))
        except PermissionDenied as exc:
            messages.error(request, str(exc))
        else:
            messages.success(
                request, "Published." if status == Entry.Status.PUBLISHED else "Saved as a draft."
            )
        return HttpResponseRedirect(back)

    def render_change_form(
        self, request: HttpRequest, context: dict, *args: Any, **kwargs: Any
    ) -> HttpResponse:
        context["quick_entry_form"] = QuickEntryForm()
        return super().render_change_form(request, context, *args, **kwargs)


class EntryForm(forms.ModelForm, KindFields):
    """The entry form, with a field per kind-specific detail (the speaker of a quote, the alt
    text of an image…) and the version it was loaded at, so a stale save is refused."""

    loaded_version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    correction_note = forms.CharField(
        max_length=CORRECTION_NOTE_MAX_LENGTH,
        required=False,
        strip=True,
        help_text='Fill in to save this edit as a visible correction: readers see "Corrected", the '
        "time and this note, and can open the earlier wording. Leave empty for a silent fix (a typo).",
    )

    class Meta:
        model = Entry
        fields = ["feed", *ENTRY_FORM_FIELDS, "image"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["loaded_version"].initial = self.instance.version
            for field, key in kinds_forms.input_to_key(self.instance.kind).items():
                self.fields[field].initial = self.instance.details.get(key, "")

    def clean(self) -> dict[str, Any]:
        """Check the kind's fields here, so a mistake is shown next to the field with the
        editor's text still in the form."""
        data = super().clean()
        if self.errors or "kind" not in data:
            return data
        has_image = bool(data.get("image") or (self.instance.pk and self.instance.image))
        details = self.details()
        try:
            kinds.clean_details(
                kind=data["kind"],
                details=self.instance.details if details is None else details,
                body=data.get("body", ""),
                headline=data.get("headline", ""),
                has_image=has_image,
            )
        except ValidationError as exc:
            fields = {key: field for field, key in kinds_forms.input_to_key(data["kind"]).items()}
            for name, problems in exc.message_dict.items():
                field = fields.get(name, name)
                self.add_error(field if field in self.fields else None, problems)
        return data

    def details(self) -> dict[str, Any] | None:
        """The entry's details after this form, or None when neither kind nor its fields changed."""
        kind = self.cleaned_data["kind"]
        if "kind" not in self.changed_data and not set(kinds_forms.input_to_key(kind)) & set(
            self.changed_data
        ):
            return None
        return self.kind_details(kind, editing=self.instance if self.instance.pk else None)


@admin.register(Entry)
class EntryAdmin(admin.ModelAdmin):
    form = EntryForm
    list_display = [
        "__str__",
        "kind",
        "feed",
        "status",
        "pinned",
        "key_event",
        "published_at",
        "author",
        "seq",
    ]
    list_filter = ["feed", "kind", "status", "pinned", "key_event"]
    search_fields = ["headline", "body"]
    entry_fields = [
        "feed",
        "kind",
        "headline",
        "body",
        "status",
        "pinned",
        "key_event",
        "publish_at",
        "correction_note",
        "loaded_version",
    ]
    published_fields = ["rendered", "author", "published_at", "seq", "corrections_shown"]
    readonly_fields = ["rendered", "author", "published_at", "seq", "corrections_shown"]
    list_select_related = ["feed", "author"]
    actions = ["delete_leaving_notice"]

    def has_change_permission(self, request: HttpRequest, obj: Entry | None = None) -> bool:
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or roles.can_edit_entry(request.user, obj))

    def get_fieldsets(self, request: HttpRequest, obj: Entry | None = None) -> list[tuple[str | None, dict]]:
        """The entry's own fields, then a section per registered kind that has fields of its own."""
        sections: list[tuple[str | None, dict]] = [(None, {"fields": self.entry_fields})]
        for kind in kinds.all():
            fields = (["image"] if kind.takes_image else []) + [field.input_name for field in kind.fields]
            if fields:
                sections.append(
                    (kind.label, {"fields": fields, "description": f"Only for {kind.label.lower()} entries."})
                )
        return [*sections, ("Published", {"fields": self.published_fields})]

    def get_form(
        self, request: HttpRequest, obj: Entry | None = None, change: bool = False, **kwargs: Any
    ) -> type:
        """The entry form with a declared field for every registered kind's details, as the
        fieldsets list them."""
        kwargs.setdefault("form", type(self.form.__name__, (self.form,), kinds_forms.form_fields()))
        return super().get_form(request, obj, change, **kwargs)

    def has_delete_permission(self, request: HttpRequest, obj: Entry | None = None) -> bool:
        allowed = super().has_delete_permission(request, obj)
        return allowed and (obj is None or roles.can_delete_entry(request.user, obj))

    def changeform_view(
        self, request: HttpRequest, object_id: str | None = None, *args: Any, **kwargs: Any
    ) -> HttpResponse:
        """Turn the services' refusals into a message on the form's page instead of an error page."""
        try:
            return super().changeform_view(request, object_id, *args, **kwargs)
        except services.StaleEdit as exc:
            messages.error(request, str(exc))
        except ValidationError as exc:
            messages.error(request, "The entry was not saved: " + " ".join(exc.messages))
        return HttpResponseRedirect(request.get_full_path())

    def get_queryset(self, request: HttpRequest) -> QuerySet[Entry]:
        return super().get_queryset(request).filter(deleted_at__isnull=True)

    def get_readonly_fields(self, request: HttpRequest, obj: Entry | None = None) -> list[str]:
        fields = list(super().get_readonly_fields(request, obj))
        return fields + ["feed"] if obj else fields

    @admin.display(description="As readers see it")
    def rendered(self, entry: Entry) -> str:
        return format_html('<div class="entry-preview">{}</div>', entry.html) if entry.html else "—"

    @admin.display(description="Corrections")
    def corrections_shown(self, entry: Entry) -> str:
        if not entry.corrections:
            return "—"
        return format_html_join(
            "",
            "<p>Corrected {} — {}</p>",
            ((item.at.strftime("%Y-%m-%d %H:%M %Z"), item.note) for item in entry.correction_list),
        )

    @admin.action(description="Delete, leaving “This update was removed” for readers")
    def delete_leaving_notice(self, request: HttpRequest, queryset: QuerySet[Entry]) -> None:
        if not all(roles.can_delete_entry(request.user, entry) for entry in queryset):
            raise PermissionDenied
        for entry in queryset:
            services.delete_entry(entry=entry, by=request.user, removal_notice=True)
        self.message_user(request, f"Deleted {len(queryset)}; readers see a notice where each was.")

    def save_model(self, request: HttpRequest, obj: Entry, form: forms.ModelForm, change: bool) -> None:
        upload = form.cleaned_data.get("image") if "image" in form.changed_data else None
        upload = upload or None  # a cleared file input gives False
        details = form.details()
        if change:
            changes = _changes(form, ENTRY_FORM_FIELDS)
            if details is not None:
                changes["details"] = details
            note = form.cleaned_data.get("correction_note")
            save = functools.partial(services.correct_entry, note=note) if note else services.update_entry
            save(
                entry=obj,
                by=request.user,
                expected_version=form.cleaned_data.get("loaded_version"),
                image=upload,
                **changes,
            )
        else:
            created = services.create_entry(
                feed=form.cleaned_data["feed"],
                by=request.user,
                image=upload,
                details=details or {},
                **{name: form.cleaned_data[name] for name in ENTRY_FORM_FIELDS},
            )
            obj.pk = created.pk
            obj.refresh_from_db()

    def delete_model(self, request: HttpRequest, obj: Entry) -> None:
        services.delete_entry(entry=obj, by=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Entry]) -> None:
        for entry in queryset:
            services.delete_entry(entry=entry, by=request.user)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["prefix", "user", "name", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["prefix", "created_at", "last_used_at"]
    fields = ["user", "name", "prefix", "created_at", "last_used_at", "revoked_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Keys are shown once, by `manage.py createtoken`, never stored in the clear.
        return False
