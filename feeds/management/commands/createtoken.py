from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from feeds.tokens import issue_token


class Command(BaseCommand):
    help = "Create an API token for a user and print it (it is shown this once, then only its hash is kept)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="", help="What the token is for, e.g. 'timing system'.")

    def handle(self, *args: Any, username: str, name: str, **options: Any) -> None:
        User = get_user_model()
        try:
            user = User.objects.get(**{User.USERNAME_FIELD: username})
        except User.DoesNotExist:
            raise CommandError(f"No user named {username!r}.")
        if not user.has_perm("feeds.publish_entry"):
            self.stderr.write(
                f"Warning: {username} may not publish, so the write API will refuse this token."
            )
        _, key = issue_token(user=user, name=name)
        self.stdout.write(key)
