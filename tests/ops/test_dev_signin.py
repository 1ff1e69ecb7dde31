"""The development sign-in route (app/dev_signin.py) that examples/dashboard lists accounts
from: in development it hands out working tokens for the demo accounts; in production the
route does not exist."""

import httpx

from app.asgi import create_app
from core.settings import Settings

VIEWER = "{ viewer { account { displayName } isAdmin } }"


async def test_development_lists_the_demo_accounts_with_working_tokens(orm: str) -> None:
    app = create_app(Settings(database_url=orm, environment="development"), manage_db=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://test") as http:
        response = await http.get("/dev/accounts")
        assert response.status_code == 200
        assert response.headers["cache-control"] == "no-store"
        accounts = response.json()["accounts"]
        assert [(a["role"], a["displayName"]) for a in accounts] == [
            ("expert", "Erika Expert"), ("user", "Uma User"), ("admin", "Ada Admin")]
        for account in accounts:
            answer = await http.post("/graphql", json={"query": VIEWER},
                                     headers={"Authorization": f"Bearer {account['token']}"})
            viewer = answer.json()["data"]["viewer"]
            assert viewer["account"]["displayName"] == account["displayName"]
            assert viewer["isAdmin"] is (account["role"] == "admin")


async def test_production_offers_no_sign_in(orm: str) -> None:
    settings = Settings(database_url=orm, environment="production",
                        jwt_secret="a-production-secret-of-32-bytes-or-more")
    app = create_app(settings, manage_db=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://test") as http:
        assert (await http.get("/dev/accounts")).status_code == 404
        assert (await http.post("/dev/accounts")).status_code == 404
