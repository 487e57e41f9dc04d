"""Small clients for the calls Livefeed makes to Telegram's Bot API and Slack's Web API.

Production and tests use the same code; only the base URL differs (TELEGRAM_API_URL, SLACK_API_URL).
"""

from __future__ import annotations

from typing import Any

import httpx2

from .config import setting

TIMEOUT = httpx2.Timeout(10.0, connect=5.0)


class BotApiError(Exception):
    """The platform refused a call or could not be reached; the message says which and why."""


class TelegramClient:
    """Bot API calls: getFile, the file download endpoint, sendMessage and setWebhook."""

    def __init__(self, *, token: str | None = None, base_url: str | None = None) -> None:
        self.token = token or setting("TELEGRAM_BOT_TOKEN")
        self.base_url = (base_url or setting("TELEGRAM_API_URL")).rstrip("/")

    def call(self, method: str, **params: Any) -> Any:
        """Call a Bot API method and return its `result`; raise BotApiError unless `ok`."""
        try:
            response = httpx2.post(f"{self.base_url}/bot{self.token}/{method}", json=params, timeout=TIMEOUT)
            data = response.json()
        except (httpx2.HTTPError, ValueError) as exc:
            raise BotApiError(f"Telegram {method} failed: {exc.__class__.__name__}") from exc
        if not isinstance(data, dict) or not data.get("ok"):
            description = data.get("description") if isinstance(data, dict) else None
            raise BotApiError(f"Telegram {method} refused: {description or response.status_code}")
        return data.get("result")

    def send_message(self, *, chat_id: int | str, text: str) -> None:
        self.call("sendMessage", chat_id=chat_id, text=text)

    def set_webhook(self, *, url: str, secret_token: str) -> None:
        self.call(
            "setWebhook", url=url, secret_token=secret_token, allowed_updates=["message", "edited_message"]
        )

    def download_file(self, *, file_id: str, max_bytes: int) -> tuple[str, bytes]:
        """Fetch a file the bot received (getFile, then the download endpoint), at most `max_bytes`;
        returns its path on Telegram's side and its bytes."""
        info = self.call("getFile", file_id=file_id)
        if not isinstance(info, dict) or not isinstance(info.get("file_path"), str):
            raise BotApiError("Telegram getFile gave no file_path (the file may be over 20 MB).")
        if isinstance(info.get("file_size"), int) and info["file_size"] > max_bytes:
            raise FileTooLarge(info["file_size"])
        url = f"{self.base_url}/file/bot{self.token}/{info['file_path']}"
        try:
            with httpx2.stream("GET", url, timeout=TIMEOUT) as response:
                if response.status_code != 200:
                    raise BotApiError(f"Telegram file download answered {response.status_code}.")
                chunks, size = [], 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > max_bytes:
                        raise FileTooLarge(size)
                    chunks.append(chunk)
        except httpx2.HTTPError as exc:
            raise BotApiError(f"Telegram file download failed: {exc.__class__.__name__}") from exc
        return info["file_path"], b"".join(chunks)


class FileTooLarge(BotApiError):
    """The file is larger than Livefeed accepts; nothing more is downloaded."""

    def __init__(self, size: int) -> None:
        self.size = size
        super().__init__(f"The file is larger than accepted ({size} bytes so far).")


class SlackClient:
    """Web API calls: chat.postEphemeral, to answer one member without the channel seeing it."""

    def __init__(self, *, token: str | None = None, base_url: str | None = None) -> None:
        self.token = token or setting("SLACK_BOT_TOKEN")
        self.base_url = (base_url or setting("SLACK_API_URL")).rstrip("/")

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        try:
            response = httpx2.post(
                f"{self.base_url}/{method}",
                json=params,
                headers={"Authorization": f"Bearer {self.token}"},
                timeout=TIMEOUT,
            )
            data = response.json()
        except (httpx2.HTTPError, ValueError) as exc:
            raise BotApiError(f"Slack {method} failed: {exc.__class__.__name__}") from exc
        if not isinstance(data, dict) or not data.get("ok"):
            error = data.get("error") if isinstance(data, dict) else None
            raise BotApiError(f"Slack {method} refused: {error or response.status_code}")
        return data

    def post_ephemeral(self, *, channel: str, user: str, text: str) -> None:
        self.call("chat.postEphemeral", channel=channel, user=user, text=text)
