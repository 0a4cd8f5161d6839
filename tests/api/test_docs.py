"""/docs works on a machine without internet: every script, style and icon they load comes from
this server, and /favicon.ico is served."""

from __future__ import annotations

import re

from fastapi import FastAPI
from fastapi.testclient import TestClient

from helpline.api.docs import install_docs


def _client() -> TestClient:
    app = FastAPI(title="Helpline — test", docs_url=None, redoc_url=None)

    @app.get("/api/v1/ping")
    def ping() -> dict[str, str]:
        return {"ok": "yes"}

    install_docs(app)
    return TestClient(app)


def _loaded_urls(html: str) -> list[str]:
    return re.findall(r"""(?:src|href)=["']([^"']+)["']|url: ?['"]([^'"]+)['"]""", html)


def test_docs_pages_load_nothing_from_another_host() -> None:
    client = _client()
    assert client.get("/redoc").status_code == 404  # off: ReDoc loads its logo from a CDN
    for page in ("/docs",):
        response = client.get(page)
        assert response.status_code == 200
        urls = [u for pair in _loaded_urls(response.text) for u in pair if u]
        assert urls, page
        for url in urls:
            assert url.startswith("/"), f"{page} loads {url} from another host"
            assert client.get(url).status_code == 200, f"{page}: {url} is not served"
        assert "fonts.googleapis" not in response.text and "cdn." not in response.text
    assert "SwaggerUIBundle" in client.get("/docs-assets/swagger-ui-bundle.js").text
    assert "/api/v1/ping" in client.get("/openapi.json").text


def test_favicon_is_an_icon() -> None:
    response = _client().get("/favicon.ico")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/x-icon"
    assert response.content[:4] == b"\x00\x00\x01\x00"  # the ICO header browsers read
