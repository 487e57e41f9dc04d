"""Timing and scoring data in: adapters turn a source's payload into a `RaceSnapshot`, the ingest
service applies it to the feed's race status, and the poller fetches polled sources in the
background worker. See docs/timing.md."""
