"""Signed webhooks to partner platforms from a transactional outbox.

Services anywhere above merchants emit with `event_emit(partner=…, type=…, payload=…)` (or
`events_emit` for many) inside the transaction of the change; delivery, signing and the log live
here. See docs/api.md ("Webhooks") and docs/security.md ("Webhooks")."""
