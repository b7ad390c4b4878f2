"""Removing anything token-shaped from text that is about to be quoted to a user.

Some text flyte_nb shows comes from programs it does not control: the standard error of an external token
command, above all. A helper that prints its token (or a refresh token, or a client secret) there must
not leak it into a notebook, a log or a saved output. :func:`redact` replaces, in this order:

1. the exact values it is given (the configured secrets, what the command printed on stdout);
2. ``key=value`` / ``"key": "value"`` pairs whose key names a credential (``access_token``, ``secret``,
   ``password``…), and the word after ``Bearer`` / ``Basic``;
3. JWTs (``eyJ….….…``);
4. long runs of base64 or hex (32 characters or more, with both letters and digits): API keys, opaque
   tokens, signatures.

It errs on the side of hiding: a long identifier may be replaced too, which costs a little clarity in an
error message and never a credential.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["REDACTED", "redact"]

REDACTED = "[redacted]"

_CREDENTIAL_KEY = (
    r"(?:access|refresh|id|bearer|auth|session)?[_-]?token|client[_-]?secret|secret|password|passwd|"
    r"api[_-]?key|authorization|credentials?"
)
_PAIR = re.compile(
    rf"""(?ix)
    (?P<key>["']?\b(?:{_CREDENTIAL_KEY})["']?\s*[:=]\s*)   # the key and its separator, kept
    (?P<quote>["']?)(?P<value>(?:(?:bearer|basic)\s+)?[^\s"',;}}]+)  # the value, replaced
    """
)
_SCHEME = re.compile(r"(?i)\b(?P<key>(?:bearer|basic)\s+)(?P<value>[^\s\"',;]+)")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
_LONG_RUN = re.compile(r"[A-Za-z0-9+/_-]{32,}={0,2}")


def _hide_long_run(match: re.Match[str]) -> str:
    run = match.group(0)
    has_letter = any(c.isalpha() for c in run)
    has_digit = any(c.isdigit() for c in run)
    return REDACTED if has_letter and has_digit else run


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every given secret and everything token-shaped replaced by ``[redacted]``."""
    # Longest first, so a secret that contains another is hidden whole.
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    text = _PAIR.sub(lambda m: f"{m.group('key')}{m.group('quote')}{REDACTED}", text)
    text = _SCHEME.sub(lambda m: f"{m.group('key')}{REDACTED}", text)
    text = _JWT.sub(REDACTED, text)
    return _LONG_RUN.sub(_hide_long_run, text)
