"""`GET /calendar/<secret>.ics`: the account's meetings for calendar apps to subscribe to.

Unknown secrets get a bare 404, the same whether the string was malformed, rotated away or
never issued. The ETag is the body's hash, so a poll of an unchanged feed gets a 304."""

from starlette.requests import Request
from starlette.responses import Response

from resolvers.calendar_feed import etag_matches, render

CACHE = "private, max-age=300"


async def calendar_feed(request: Request) -> Response:
    """Every path under /calendar/ comes here, so none answers more than a bare 404."""
    name = str(request.path_params["name"])
    rendered = await render(name.removesuffix(".ics")) if name.endswith(".ics") else None
    if rendered is None:
        return Response(status_code=404)
    headers = {"ETag": rendered.etag, "Cache-Control": CACHE}
    if etag_matches(request.headers.get("if-none-match"), rendered.etag):
        return Response(status_code=304, headers=headers)
    return Response(rendered.body, media_type="text/calendar; charset=utf-8", headers=headers)
