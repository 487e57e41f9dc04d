"""Linking a Telegram or Slack account to a Livefeed user with a one-time code from the desk.

A code is short-lived and single use, and only its hash is stored: a leaked database or log of
codes links nobody.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import roles
from .models import LinkCode, MessagingAccount

CODE_LIFETIME = timedelta(minutes=10)
# No 0/O, 1/I/L: codes are read off a screen and typed on a phone.
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8


class LinkRefused(Exception):
    """The code is unknown, used or expired, or its user may not write; the message says so."""


def _normalize(code: str) -> str:
    return re.sub(r"[\s-]", "", code).upper()


def _hash(code: str) -> str:
    return hashlib.sha256(_normalize(code).encode()).hexdigest()


def issue_link_code(*, user: AbstractBaseUser) -> tuple[str, LinkCode]:
    """Make a new code for `user`; the returned text is the only copy (shown once, as XXXX-XXXX)."""
    raw = "".join(secrets.choice(ALPHABET) for _position in range(CODE_LENGTH))
    code = f"{raw[:4]}-{raw[4:]}"
    link_code = LinkCode.objects.create(
        user=user, code_hash=_hash(code), expires_at=timezone.now() + CODE_LIFETIME
    )
    return code, link_code


def link_account(*, platform: str, external_id: str, code: str, display_name: str = "") -> MessagingAccount:
    """Use a code to link an account to the code's user (moving it from any user it was linked to)."""
    with transaction.atomic():
        link_code = (
            LinkCode.objects.select_for_update()
            .select_related("user")
            .filter(code_hash=_hash(code), used_at__isnull=True, expires_at__gt=timezone.now())
            .first()
        )
        if link_code is None:
            raise LinkRefused(
                _(
                    "That code is unknown, expired or already used. Get a new one on the live desk "
                    '("Post from Telegram or Slack").'
                )
            )
        if not roles.can_write(link_code.user):
            raise LinkRefused(
                _("Your Livefeed account may not write entries; ask an editor to add you to a role.")
            )
        link_code.used_at = timezone.now()
        link_code.save(update_fields=["used_at"])
        account, _created = MessagingAccount.objects.update_or_create(
            platform=platform,
            external_id=str(external_id),
            defaults={"user": link_code.user, "display_name": display_name[:200]},
        )
    return account


def linked_account(*, platform: str, external_id: str) -> MessagingAccount | None:
    """The account's link, if its Livefeed user is still active."""
    account = (
        MessagingAccount.objects.select_related("user", "feed")
        .filter(platform=platform, external_id=str(external_id))
        .first()
    )
    if account is None or not account.user.is_active:
        return None
    return account
