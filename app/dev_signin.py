"""Development sign-in: the demo accounts of the embedded default and tokens for them, so a
front end under development (examples/dashboard) can offer "sign in as". The route exists
only when ENVIRONMENT=development; production never mounts it."""

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from app.auth import make_token
from app.seed import DEMO_ADMIN, DEMO_EXPERT, DEMO_USER
from core.settings import Settings

PATH = "/dev/accounts"


def demo_accounts(settings: Settings) -> list[dict[str, object]]:
    expert, user = DEMO_EXPERT, DEMO_USER
    return [
        {"role": "expert", "sub": expert[0], "displayName": expert[1], "timezone": expert[2],
         "token": make_token(settings, expert[0], name=expert[1])},
        {"role": "user", "sub": user[0], "displayName": user[1], "timezone": user[2],
         "token": make_token(settings, user[0], name=user[1])},
        {"role": "admin", "sub": DEMO_ADMIN, "displayName": "Ada Admin", "timezone": "UTC",
         "token": make_token(settings, DEMO_ADMIN, name="Ada Admin", admin=True)},
    ]


def routes(settings: Settings) -> list[Route]:
    if settings.environment != "development":
        return []

    async def accounts(_: Request) -> JSONResponse:
        # Tokens are minted per request: they carry an expiry.
        return JSONResponse({"accounts": demo_accounts(settings)},
                            headers={"cache-control": "no-store"})

    return [Route(PATH, accounts, methods=["GET"])]
