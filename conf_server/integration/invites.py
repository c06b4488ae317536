"""Signed invite tokens (JWT, HS256 with PyJWT).

An invite says who may join which room, under which name and role, until
when. The chat app gets one per person from ``POST /api/v1/escalations``; a
browser brings it in ``/r/{room}?token=…`` and sends it with ``join``.

Claims: ``iss`` "conf-server", ``aud`` "conf-server/join", ``sub`` (the person's
user id in the chat app), ``room``, ``name``, ``role`` ("host" or
"participant"), optional ``zone``, ``iat``, ``nbf``, ``exp``, ``jti``.

Verification refuses, each with its own message: a bad signature, any
algorithm but HS256 (``alg: none`` included), an expired or not-yet-valid token,
a wrong audience or issuer, a token for another room, missing claims. The
signing secret is ``invite_secret`` when configured, else one made at first
start and kept in the database (so tokens survive restarts).

The ``name`` claim is whatever the chat app sent, checked by the one text rule
(signaling/text.py) when the escalation was made; at join the server applies
the rule again (``invite_name`` in membership.py), so a token signed
before the rule existed cannot bring a control or invisible character in.

The same secret also derives names the server must keep unguessable
(:meth:`InviteSigner.digest`: the room names of escalations).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Any

import jwt

from conf_server.errors import ConfServerError

ISSUER = "conf-server"
AUDIENCE = "conf-server/join"
ALGORITHM = "HS256"
DEFAULT_TTL = 24 * 3600.0
ROLES = ("host", "participant")


class InvalidInvite(ConfServerError):
    code = "invalid_token"
    status = 401


@dataclass(frozen=True)
class Invite:
    """A verified invite."""

    user_id: str
    room: str
    name: str
    role: str
    zone: str | None
    expires_at: float

    @property
    def identity(self) -> str:
        """The ban and invite-list key of this person."""
        return f"user:{self.user_id}"


def new_secret() -> str:
    return secrets.token_urlsafe(48)


class InviteSigner:
    """Makes and checks invite tokens with one secret."""

    def __init__(self, secret: str) -> None:
        if len(secret) < 32:
            raise ValueError("the invite secret must have at least 32 characters")
        self._secret = secret

    def digest(self, purpose: str, text: str) -> str:
        """Hex HMAC-SHA256 of ``text`` under a key derived from the secret for
        ``purpose`` alone (never equal to an invite signature)."""
        key = hashlib.sha256(f"{purpose}:".encode() + self._secret.encode()).digest()
        return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()

    def sign(
        self,
        room: str,
        user_id: str,
        name: str,
        role: str = "participant",
        zone: str | None = None,
        ttl: float = DEFAULT_TTL,
        now: float | None = None,
    ) -> str:
        if role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}")
        issued = int(now if now is not None else time.time())
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": user_id,
            "room": room,
            "name": name,
            "role": role,
            "iat": issued,
            "nbf": issued,
            "exp": issued + int(ttl),
            "jti": secrets.token_hex(8),
        }
        if zone is not None:
            claims["zone"] = zone
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    def verify(self, token: str, room: str) -> Invite:
        """The invite in ``token`` for ``room``, or :class:`InvalidInvite`."""
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                issuer=ISSUER,
                options={"require": ["exp", "nbf", "iat", "sub", "aud", "iss"]},
                leeway=5,
            )
        except jwt.ExpiredSignatureError:
            raise InvalidInvite("this invite link has expired; ask for a new one") from None
        except jwt.ImmatureSignatureError:
            raise InvalidInvite("this invite link is not valid yet") from None
        except jwt.InvalidAudienceError:
            raise InvalidInvite("this token is not an invite to a meeting") from None
        except jwt.InvalidIssuerError:
            raise InvalidInvite("this invite was not issued by this server") from None
        except jwt.InvalidSignatureError:
            raise InvalidInvite("this invite link has been tampered with") from None
        except jwt.InvalidAlgorithmError:
            raise InvalidInvite("this invite is not signed the way this server signs") from None
        except jwt.MissingRequiredClaimError as exc:
            raise InvalidInvite(f"this invite lacks the {exc.claim!r} claim") from None
        except jwt.PyJWTError:
            raise InvalidInvite("this invite link is not valid") from None
        if claims.get("room") != room:
            raise InvalidInvite("this invite is for another meeting")
        role, name, zone = claims.get("role"), claims.get("name"), claims.get("zone")
        if role not in ROLES or not isinstance(name, str) or not isinstance(claims["sub"], str):
            raise InvalidInvite("this invite lacks a valid role, name or user")
        if zone is not None and not isinstance(zone, str):
            raise InvalidInvite("this invite has an invalid zone")
        return Invite(claims["sub"], room, name, role, zone, float(claims["exp"]))
