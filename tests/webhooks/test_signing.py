"""The signature partners check: a timestamped HMAC-SHA256 over the raw body. The published
`verify` accepts a genuine, fresh request and refuses a wrong secret, a changed body, a stale
timestamp (a replay after the window) and the same signature twice (a replay within it)."""

import time

import pytest

from merchants.webhooks import signing
from merchants.webhooks.signing import SignatureError, sign, verify

SECRET = "whsec_test_secret"
BODY = b'{"id":"evt_1","type":"loan.disbursed","data":{"principal":"2000.00"}}'


def test_a_genuine_fresh_request_is_accepted():
    now = time.time()
    header = sign([SECRET], BODY, timestamp=int(now))
    assert verify(SECRET, BODY, header, now=now) == int(now)


def test_the_signature_is_hmac_sha256_over_timestamp_dot_body():
    import hashlib
    import hmac

    header = sign([SECRET], BODY, timestamp=1_700_000_000)
    expected = hmac.new(SECRET.encode(), b"1700000000." + BODY, hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"


@pytest.mark.parametrize(
    "secret, body, why",
    [
        ("whsec_someone_else", BODY, "does not match"),
        (SECRET, BODY.replace(b"2000.00", b"9000.00"), "does not match"),
        (SECRET, BODY + b" ", "does not match"),
    ],
)
def test_a_wrong_secret_or_a_changed_body_is_refused(secret, body, why):
    header = sign([SECRET], BODY)
    with pytest.raises(SignatureError, match=why):
        verify(secret, body, header)


@pytest.mark.parametrize(
    "header",
    ["", "v1=abc", "t=abc,v1=abc", "t=1700000000", "nonsense", "t=1700000000,v0=deadbeef"],
)
def test_a_malformed_header_is_refused(header):
    with pytest.raises(SignatureError):
        verify(SECRET, BODY, header, now=1_700_000_000)


def test_a_request_replayed_after_the_tolerance_is_refused():
    sent = 1_700_000_000
    header = sign([SECRET], BODY, timestamp=sent)
    assert verify(SECRET, BODY, header, now=sent + 299) == sent
    with pytest.raises(SignatureError, match="tolerance"):
        verify(SECRET, BODY, header, now=sent + 301)
    # A timestamp from the future is as suspect as one from the past.
    with pytest.raises(SignatureError, match="tolerance"):
        verify(SECRET, BODY, header, now=sent - 301)


def test_a_request_replayed_within_the_tolerance_is_refused_by_the_seen_store():
    seen: set[str] = set()
    header = sign([SECRET], BODY)
    verify(SECRET, BODY, header, seen=seen)
    with pytest.raises(SignatureError, match="already used"):
        verify(SECRET, BODY, header, seen=seen)


def test_a_refreshed_timestamp_without_the_secret_is_refused():
    """An attacker who captured a request cannot make it fresh: the timestamp is signed."""
    old = sign([SECRET], BODY, timestamp=1_700_000_000)
    forged = old.replace("t=1700000000", f"t={int(time.time())}")
    with pytest.raises(SignatureError, match="does not match"):
        verify(SECRET, BODY, forged)


def test_during_a_rotation_both_secrets_verify():
    header = sign(["whsec_new", "whsec_old"], BODY)
    assert header.count("v1=") == 2
    verify("whsec_new", BODY, header)
    verify("whsec_old", BODY, header)
    with pytest.raises(SignatureError):
        verify("whsec_other", BODY, header)


def test_the_module_partners_copy_needs_only_the_standard_library():
    with open(signing.__file__) as module:
        source = module.read()
    imports = {line.split()[1] for line in source.splitlines() if line.startswith(("import ", "from "))}
    assert imports <= {"hashlib", "hmac", "time"}


def documented_verify():
    """The `verify` partners copy from docs/api.md ("Verifying"), run as it is written there."""
    from pathlib import Path

    from django.conf import settings

    text = (Path(settings.BASE_DIR) / "docs" / "api.md").read_text()
    section = text[text.index("**Verifying.**") :]
    code = section[
        section.index("```python") + len("```python") : section.index("```", section.index("```python") + 9)
    ]
    namespace: dict = {}
    exec(compile(code, "docs/api.md", "exec"), namespace)  # noqa: S102 - our own documentation
    return namespace["verify"], namespace["SignatureError"]


def test_the_documented_verify_snippet_accepts_and_refuses_like_the_module():
    doc_verify, doc_error = documented_verify()
    now = time.time()
    good = sign([SECRET], BODY, timestamp=int(now))
    assert doc_verify(SECRET, BODY, good, now=now) == int(now)
    assert doc_verify("whsec_old", BODY, sign([SECRET, "whsec_old"], BODY, timestamp=int(now)), now=now)
    seen: set[str] = set()
    doc_verify(SECRET, BODY, good, now=now, seen=seen)
    refusals = [
        ("whsec_other", BODY, good, now),
        (SECRET, BODY + b"x", good, now),
        (SECRET, BODY, "t=1,v1=00", now),
        (SECRET, BODY, "", now),
        (SECRET, BODY, good, now + 301),
    ]
    for secret, body, header, at in refusals:
        with pytest.raises(doc_error):
            doc_verify(secret, body, header, now=at)
        with pytest.raises(SignatureError):
            verify(secret, body, header, now=at)
    with pytest.raises(doc_error, match="already used"):
        doc_verify(SECRET, BODY, good, now=now, seen=seen)
