"""manage.py api_keys: issue, rotate, revoke and list partners' API keys (for operators).

    manage.py api_keys issue --partner taobao --name "order feed" --scope read --scope ingest
    manage.py api_keys rotate --prefix 1a2b3c4d --overlap-hours 24
    manage.py api_keys revoke --prefix 1a2b3c4d
    manage.py api_keys list [--partner taobao]

The raw key and its signing secret are printed once, on issue and rotate, and never stored.
"""

import datetime as dt
import json

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from common.errors import ApplicationError
from merchants import services
from merchants.models import ALL_SCOPES, ApiKey, PartnerPlatform


def _key_row(key: ApiKey) -> dict:
    return {
        "prefix": key.prefix,
        "partner": key.partner.code,
        "name": key.name,
        "scopes": key.scopes,
        "requires_signature": key.requires_signature,
        "created_at": key.created_at.isoformat(),
        "last_used_at": key.last_used_at.isoformat() if key.last_used_at else None,
        "expires_at": key.expires_at.isoformat() if key.expires_at else None,
        "revoked_at": key.revoked_at.isoformat() if key.revoked_at else None,
        "active": key.is_active,
    }


class Command(BaseCommand):
    help = "Issue, rotate (with an overlap window), revoke or list partners' API keys."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        issue = sub.add_parser("issue", help="a new key for a partner, printed once")
        issue.add_argument("--partner", required=True, help="the partner platform's code")
        issue.add_argument("--name", default="issued by an operator")
        issue.add_argument(
            "--scope",
            action="append",
            dest="scopes",
            choices=ALL_SCOPES,
            help="repeat for several; default: all of read, ingest, lend",
        )
        issue.add_argument("--require-signature", action="store_true", help="every request must be signed")
        rotate = sub.add_parser("rotate", help="a replacement key; the old one works for the overlap")
        rotate.add_argument("--prefix", required=True, help="the key's prefix (xd_<prefix>_…)")
        rotate.add_argument("--overlap-hours", type=int, default=None)
        revoke = sub.add_parser("revoke", help="stop a key at once, for good")
        revoke.add_argument("--prefix", required=True)
        listing = sub.add_parser("list", help="keys and their state (never the keys themselves)")
        listing.add_argument("--partner", default=None)
        for each in (issue, rotate, revoke, listing):
            each.add_argument("--json", action="store_true", dest="as_json")

    def handle(self, *args, action, as_json, **options):
        try:
            result = getattr(self, f"_{action}")(**options)
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        if as_json:
            self.stdout.write(json.dumps(result, indent=2, ensure_ascii=False))
            return
        rows = result if isinstance(result, list) else [result]
        for row in rows:
            self.stdout.write("  ".join(f"{name}={value}" for name, value in row.items()))
        if action in {"issue", "rotate"}:
            self.stderr.write("Copy the key and the signing secret now: they are not shown again.")

    def _key(self, prefix: str) -> ApiKey:
        key = ApiKey.objects.select_related("partner").filter(prefix=prefix).first()
        if key is None:
            raise CommandError(f"no API key with prefix {prefix!r}")
        return key

    def _issue(self, *, partner, name, scopes, require_signature, **options):
        platform = PartnerPlatform.objects.filter(code=partner).first()
        if platform is None:
            raise CommandError(f"no partner platform with code {partner!r}")
        key, raw = services.api_key_issue(
            partner=platform, name=name, scopes=scopes or ALL_SCOPES, requires_signature=require_signature
        )
        return {**_key_row(key), "key": raw, "signing_secret": key.signing_secret}

    def _rotate(self, *, prefix, overlap_hours, **options):
        old = self._key(prefix)
        hours = settings.API_KEY_ROTATION_OVERLAP_HOURS if overlap_hours is None else overlap_hours
        new, raw = services.api_key_rotate(api_key=old, overlap=dt.timedelta(hours=hours))
        return {
            **_key_row(new),
            "key": raw,
            "signing_secret": new.signing_secret,
            "replaces": old.prefix,
            "old_key_expires_at": old.expires_at.isoformat(),
        }

    def _revoke(self, *, prefix, **options):
        key = services.api_key_revoke(api_key=self._key(prefix), actor="manage.py api_keys")
        return _key_row(key)

    def _list(self, *, partner, **options):
        keys = ApiKey.objects.select_related("partner").order_by("partner__code", "created_at")
        if partner:
            keys = keys.filter(partner__code=partner)
        return [_key_row(key) for key in keys]
