"""Pushing every change readers see to partners: signed webhooks and WebSub hub pings.

Posting only writes rows (an outbox delivery per matching subscription, a pending hub ping per
feed) inside the change's own transaction; the background worker does the HTTP.
"""
