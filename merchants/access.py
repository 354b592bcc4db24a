"""Who may enter the merchant portal: a merchant its partner sends through a signed, short-lived
hand-off link, or one an officer invites; nobody else (docs in README, "The partner API").

- **Hand-off**: the partner asks for a link for one of its own merchants; the link carries the
  merchant and a random nonce, signed with the secret key and timestamped
  (`django.core.signing`), so it cannot be forged, moved to another merchant or used after
  `MERCHANTS_HANDOFF_MAX_AGE_SECONDS`. Nothing is stored when it is made; when it lets the
  merchant in, the nonce's SHA-256 is written under a unique constraint, so it works once.
  A merchant without a portal login gets one (username from partner code and external id, no
  usable password: the partner's link is its way in).
- **Invitation**: an officer sends a link by e-mail (and sees it once); only its SHA-256 is
  stored, it expires after INVITATION_DAYS and works once; with it the merchant chooses a
  username and a password (Django's password validators) and its login is linked to the shop.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
import smtplib
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from common.errors import ApplicationError, ConflictError
from merchants import selectors
from merchants.models import Merchant, PartnerPlatform, PortalHandoff, PortalInvitation

HANDOFF_SALT = "merchants.portal-handoff"
INVITATION_DAYS = 7


class LinkRefused(ApplicationError):
    """The link is not one we made, or it was changed (a page, 400)."""

    status_code = 400
    code = "invalid_link"


class LinkGone(ApplicationError):
    """The link was ours but has expired or has been used (a page, 410)."""

    status_code = 410
    code = "link_gone"


class InvitationNotEmailed(ApplicationError):
    """The invitation was made but the e-mail could not be sent; `link` is still good."""

    status_code = 502
    code = "email_failed"

    def __init__(self, link: str, reason: str):
        super().__init__(
            f"the invitation was made but could not be e-mailed ({reason}); pass this link on "
            f"by hand, it is shown once: {link}",
            {"fields": {"email": ["not sent"]}},
        )
        self.link = link


@dataclass(frozen=True)
class Handoff:
    token: str
    expires_at: dt.datetime


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _max_age() -> int:
    return settings.MERCHANTS_HANDOFF_MAX_AGE_SECONDS


def _refuse_closed(merchant: Merchant, field: str = "token") -> None:
    if merchant.status == Merchant.Status.CLOSED:
        raise ApplicationError(
            _("this shop is closed and cannot enter the portal"),
            {"fields": {field: ["shop closed"]}},
        )
    if not merchant.partner.is_active:
        raise ApplicationError(
            _("this shop's platform is suspended"), {"fields": {field: ["partner suspended"]}}
        )


# --- hand-off -------------------------------------------------------------------------------------


def portal_handoff_create(*, partner: PartnerPlatform, external_id: str) -> Handoff:
    """A signed link into the portal for one of the partner's own merchants (another partner's
    is not found); it expires after MERCHANTS_HANDOFF_MAX_AGE_SECONDS and works once."""
    merchant = selectors.merchant_get(partner=partner, external_id=external_id)
    merchant.partner = partner
    _refuse_closed(merchant, field="merchant")
    nonce = secrets.token_urlsafe(18)
    token = signing.dumps({"m": merchant.pk, "n": nonce}, salt=HANDOFF_SALT)
    return Handoff(token=token, expires_at=timezone.now() + dt.timedelta(seconds=_max_age()))


def _handoff_open(token: str) -> tuple[Merchant, str]:
    try:
        payload = signing.loads(token, salt=HANDOFF_SALT, max_age=_max_age())
        merchant_id, nonce = int(payload["m"]), str(payload["n"])
    except signing.SignatureExpired as exc:
        raise LinkGone(
            _("this link has expired: go back to your platform's app and open the portal again"),
            {"fields": {"token": ["expired"]}},
        ) from exc
    except (signing.BadSignature, KeyError, TypeError, ValueError) as exc:
        raise LinkRefused(
            _("this is not a valid portal link"), {"fields": {"token": ["bad signature"]}}
        ) from exc
    merchant = Merchant.objects.select_related("partner").filter(pk=merchant_id).first()
    if merchant is None:
        raise LinkRefused(_("this is not a valid portal link"), {"fields": {"token": ["unknown shop"]}})
    _refuse_closed(merchant)
    if PortalHandoff.objects.filter(nonce_digest=_digest(nonce)).exists():
        raise _used()
    return merchant, nonce


def _used() -> LinkGone:
    return LinkGone(
        _("this link has already been used: each link works once"),
        {"fields": {"token": ["already used"]}},
    )


def portal_handoff_check(*, token: str) -> Merchant:
    """The merchant a hand-off link would let in; refused when it is forged, expired, used, or
    the shop is closed. Writes nothing (the confirm page)."""
    merchant, _nonce = _handoff_open(token)
    return merchant


def portal_handoff_redeem(*, token: str):
    """Use a hand-off link, once: record its nonce (a second use breaks the unique constraint)
    and return the merchant's portal login, creating it if the merchant has none."""
    merchant, nonce = _handoff_open(token)
    try:
        with transaction.atomic():
            PortalHandoff.objects.create(merchant=merchant, nonce_digest=_digest(nonce))
            return _portal_user_ensure(merchant)
    except IntegrityError as exc:  # the same link used at the same moment
        raise _used() from exc


def _username_for(merchant: Merchant) -> str:
    base = re.sub(r"[^\w.@+-]", "_", f"{merchant.partner.code}.{merchant.external_id}")[:140]
    user_model = get_user_model()
    candidate, n = base, 1
    while user_model.objects.filter(username=candidate).exists():
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def _portal_user_ensure(merchant: Merchant):
    locked = (
        Merchant.objects.select_for_update(of=("self",)).select_related("user", "partner").get(pk=merchant.pk)
    )
    if locked.user is not None:
        if locked.user.is_staff or locked.user.is_superuser:
            # A partner's link speaks for a merchant only; it never opens a workbench login.
            raise ApplicationError(
                _("this link cannot log in a staff account"),
                {"fields": {"token": ["staff login"]}},
            )
        if not locked.user.is_active:
            raise ApplicationError(
                _("this shop's portal login is disabled"),
                {"fields": {"token": ["login disabled"]}},
            )
        return locked.user
    user = get_user_model()(username=_username_for(locked))
    user.set_unusable_password()
    user.save()
    locked.user = user
    locked.save(update_fields=["user", "updated_at"])
    return user


# --- invitation -----------------------------------------------------------------------------------


def portal_invitation_send(
    *, merchant: Merchant, email: str, created_by, link_for: Callable[[str], str]
) -> tuple[PortalInvitation, str]:
    """Invite a shop without a portal login to choose one: store the link's digest (valid
    INVITATION_DAYS, once), e-mail the link and return it, to be shown once to the officer."""
    email = (email or "").strip()
    try:
        validate_email(email)
    except ValidationError as exc:
        raise ApplicationError(
            "give the e-mail address to send the invitation to",
            {"fields": {"email": ["not an e-mail address"]}},
        ) from exc
    merchant = Merchant.objects.select_related("partner", "user").get(pk=merchant.pk)
    _refuse_closed(merchant, field="merchant")
    if merchant.user is not None:
        raise ConflictError(
            f"{merchant.shop_name} already has a portal login ({merchant.user.username})",
            {"fields": {"merchant": ["already has a login"]}},
        )
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        invitation = PortalInvitation.objects.create(
            merchant=merchant,
            token_digest=PortalInvitation.digest_of(token),
            email=email,
            created_by=created_by,
            expires_at=timezone.now() + dt.timedelta(days=INVITATION_DAYS),
        )
    link = link_for(token)
    try:
        # The merchant has chosen no language yet: the portal's default, whoever sends it.
        with override(settings.LANGUAGE_CODE):
            subject = _("Your invitation to the Xiaodai merchant portal")
            message = _(
                "%(shop)s:\n\nOpen this link within %(days)s days to choose your username and "
                "password (it works once):\n\n%(link)s\n"
            ) % {"shop": merchant.shop_name, "days": INVITATION_DAYS, "link": link}
        send_mail(subject=subject, message=message, from_email=None, recipient_list=[email])
    except (OSError, smtplib.SMTPException) as exc:
        # The invitation stands; the officer sees the link once and can pass it on by hand.
        raise InvitationNotEmailed(link, str(exc)) from exc
    return invitation, link


def _invitation_open(token: str, *, lock: bool = False) -> PortalInvitation:
    rows = PortalInvitation.objects.select_related("merchant", "merchant__partner")
    if lock:
        rows = rows.select_for_update()
    invitation = rows.filter(token_digest=PortalInvitation.digest_of(token)).first()
    if invitation is None:
        raise LinkRefused(
            _("this is not a valid invitation link"), {"fields": {"token": ["unknown invitation"]}}
        )
    if invitation.used_at is not None:
        raise LinkGone(
            _("this invitation has already been used: log in with the username you chose"),
            {"fields": {"token": ["already used"]}},
        )
    if invitation.expires_at <= timezone.now():
        raise LinkGone(
            _("this invitation has expired: ask us for a new one"),
            {"fields": {"token": ["expired"]}},
        )
    _refuse_closed(invitation.merchant)
    return invitation


def portal_invitation_check(*, token: str) -> PortalInvitation:
    """The invitation behind a link, if it can still be used. Writes nothing."""
    return _invitation_open(token)


def portal_invitation_accept(*, token: str, username: str, password: str):
    """Use an invitation, once: create the login the merchant chose (a free username, a password
    Django's validators accept) and link it to the shop."""
    user_model = get_user_model()
    username = (username or "").strip()
    problems: dict[str, list[str]] = {}
    try:
        user_model.username_validator(username)
    except ValidationError as exc:
        problems["username"] = list(exc.messages)
    if not username:
        problems["username"] = [_("This field is required.")]
    elif user_model.objects.filter(username=username).exists():
        problems["username"] = [_("this username is taken")]
    user = user_model(username=username)
    try:
        validate_password(password or "", user)
    except ValidationError as exc:
        problems["password"] = list(exc.messages)
    if problems:
        field, first = next(iter(problems.items()))
        raise ApplicationError(f"{field}: {first[0]}", {"fields": problems})
    with transaction.atomic():
        invitation = _invitation_open(token, lock=True)
        claimed = PortalInvitation.objects.filter(pk=invitation.pk, used_at__isnull=True).update(
            used_at=timezone.now()
        )
        if not claimed:
            raise LinkGone(
                _("this invitation has already been used"), {"fields": {"token": ["already used"]}}
            )
        merchant = Merchant.objects.select_for_update().get(pk=invitation.merchant_id)
        if merchant.user_id is not None:
            raise ConflictError(
                _("this shop already has a portal login"),
                {"fields": {"token": ["shop already has a login"]}},
            )
        user.set_password(password)
        try:
            with transaction.atomic():
                user.save()
        except IntegrityError as exc:  # taken a moment ago
            taken = _("this username is taken")
            raise ApplicationError(f"username: {taken}", {"fields": {"username": [taken]}}) from exc
        merchant.user = user
        merchant.save(update_fields=["user", "updated_at"])
        PortalInvitation.objects.filter(pk=invitation.pk).update(user=user)
    return user
