"""JWT authentication (SPEC §9): HS256 with a shared secret; the account is created on its
first authenticated request from the token's claims."""

from dataclasses import dataclass

import jwt
from tortoise.exceptions import IntegrityError

from app.settings import Settings
from models.accounts import Account


@dataclass(frozen=True)
class Claims:
    sub: str
    name: str
    email: str
    tz: str | None
    is_admin: bool


class AuthError(Exception):
    pass


def decode(token: str, settings: Settings) -> Claims:
    options = {"require": ["sub", "exp"]}
    try:
        data = jwt.decode(
            token,
            settings.jwt_secret,
            algorithms=["HS256"],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options=options,  # type: ignore[arg-type]
        )
    except jwt.PyJWTError as exc:
        raise AuthError(f"Invalid token: {exc}") from None
    roles = data.get("roles") or []
    return Claims(
        sub=str(data["sub"]),
        name=str(data.get("name") or data["sub"]),
        email=str(data.get("email") or ""),
        tz=data.get("tz"),
        is_admin="admin" in roles,
    )


def bearer(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def account_for(claims: Claims) -> Account:
    from models.freetime import valid_timezone

    tz = claims.tz if claims.tz and valid_timezone(claims.tz) else None
    account = await Account.get_or_none(key=claims.sub)
    if account is None:
        try:
            account = await Account.create(key=claims.sub, display_name=claims.name,
                                           email=claims.email, timezone=tz or "UTC",
                                           is_admin=claims.is_admin)
        except IntegrityError:  # two first requests at once: the other one created it
            account = await Account.get(key=claims.sub)
        return account
    changed = {
        name: value
        for name, value in (("display_name", claims.name), ("email", claims.email),
                            ("timezone", tz), ("is_admin", claims.is_admin))
        if value is not None and getattr(account, name) != value
    }
    if changed:
        await Account.filter(id=account.id).update(**changed)
        for name, value in changed.items():
            setattr(account, name, value)
    return account


def make_token(settings: Settings, sub: str, *, name: str | None = None, email: str = "",
               tz: str | None = None, admin: bool = False, ttl_days: int = 30) -> str:
    import time

    claims: dict[str, object] = {"sub": sub, "name": name or sub, "email": email,
                                 "exp": int(time.time()) + ttl_days * 86400,
                                 "roles": ["admin"] if admin else []}
    if tz:
        claims["tz"] = tz
    if settings.jwt_audience:
        claims["aud"] = settings.jwt_audience
    if settings.jwt_issuer:
        claims["iss"] = settings.jwt_issuer
    return jwt.encode(claims, settings.jwt_secret, algorithm="HS256")
