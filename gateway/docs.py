"""``/docs``: Swagger UI over ``/openapi.json``, from the npm package ``swagger-ui-dist``.

The assets come from the registry at install time (``make docs-assets`` → ``tools/node_modules``;
``GATEWAY_DOCS_DIR`` points elsewhere, e.g. in an image); nothing is fetched from a CDN, and the
page runs under a CSP that allows only the gateway's own scripts and styles.
"""
from __future__ import annotations

import pathlib

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from gateway.edge import DOCS_CSP

DEFAULT_DOCS_DIR = pathlib.Path(__file__).resolve().parent.parent / "tools" / "node_modules" / "swagger-ui-dist"

# The only files served from the package (no directory listing, no path from the request).
ASSETS = {
    "swagger-ui.css": "text/css; charset=utf-8",
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "favicon-32x32.png": "image/png",
    "favicon-16x16.png": "image/png",
}

PAGE = """<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="UTF-8">
    <title>Nerava API</title>
    <link rel="stylesheet" type="text/css" href="/docs/assets/swagger-ui.css">
    <link rel="icon" type="image/png" href="/docs/assets/favicon-32x32.png" sizes="32x32">
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="/docs/assets/swagger-ui-bundle.js" charset="UTF-8"></script>
    <script src="/docs/init.js" charset="UTF-8"></script>
  </body>
</html>
"""

# No inline script: the initializer is its own file so that script-src stays 'self'.
INIT_JS = """window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    docExpansion: "list",
    defaultModelsExpandDepth: 0,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout"
  });
});
"""

_DOCS_HEADERS = {"content-security-policy": DOCS_CSP, "cache-control": "no-cache"}


def docs_routes(docs_dir: pathlib.Path | None = None) -> list[Route]:
    root = docs_dir or DEFAULT_DOCS_DIR

    def missing() -> Response:
        return Response('{"detail":"API docs assets are not installed (run make docs-assets)"}',
                        status_code=503, media_type="application/json")

    async def page(_: Request) -> Response:
        if not (root / "swagger-ui-bundle.js").is_file():
            return missing()
        return Response(PAGE, media_type="text/html; charset=utf-8", headers=_DOCS_HEADERS)

    async def init(_: Request) -> Response:
        return Response(INIT_JS, media_type="text/javascript; charset=utf-8", headers=_DOCS_HEADERS)

    async def asset(request: Request) -> Response:
        name = request.path_params["name"]
        media_type = ASSETS.get(name)
        if media_type is None:
            return Response('{"detail":"Not Found"}', status_code=404, media_type="application/json")
        path = root / name
        if not path.is_file():
            return missing()
        return FileResponse(path, media_type=media_type,
                            headers={"cache-control": "public, max-age=3600"})

    return [
        Route("/docs", page, methods=["GET", "HEAD"]),
        Route("/docs/", page, methods=["GET", "HEAD"]),
        Route("/docs/init.js", init, methods=["GET", "HEAD"]),
        Route("/docs/assets/{name}", asset, methods=["GET", "HEAD"]),
    ]
