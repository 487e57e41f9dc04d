"""Posting to feeds from Telegram and Slack: webhooks in, entries out through the services."""
