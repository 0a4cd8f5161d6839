"""Declarative HTTP connector: a business's own REST system of record, described in YAML."""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Mapping
from typing import Any

import httpx

from helpline.conversation.ports import OperationResult
from helpline.pack.expressions import ExpressionError, evaluate, render, render_value
from helpline.pack.models import HttpSpec

log = logging.getLogger(__name__)


class HttpOperations:
    def __init__(self, client: httpx.Client | None = None, environ: Mapping[str, str] | None = None):
        self.client = client or httpx.Client()
        self.environ = dict(os.environ if environ is None else environ)

    def run(self, name: str, spec: HttpSpec, args: Mapping[str, Any]) -> OperationResult:
        names = {"args": dict(args), "env": self.environ, **args}
        try:
            url = render(spec.url, names)
            headers = {k: render(v, names) for k, v in spec.headers.items()}
            body = render_value(spec.body, names) if spec.body is not None else None
        except ExpressionError as exc:
            return OperationResult(ok=False, error=f"{name}: {exc}")
        if isinstance(body, str):
            try:
                body = json.loads(body)
            except json.JSONDecodeError:
                return OperationResult(ok=False, error=f"{name}: body template is not JSON")
        if spec.auth is not None:
            secret = self.environ.get(spec.auth.env)
            if not secret:
                return OperationResult(ok=False, error=f"{name}: credential {spec.auth.env} is not set")
            headers[spec.auth.header] = spec.auth.prefix + secret

        response: httpx.Response | None = None
        last_error = ""
        for attempt in range(spec.retries + 1):
            try:
                response = self.client.request(
                    spec.method, url, json=body, headers=headers, timeout=spec.timeout
                )
            except httpx.HTTPError as exc:
                last_error = f"{type(exc).__name__}"
                response = None
            if response is not None and response.status_code < 500:
                break
            if response is not None:
                last_error = f"HTTP {response.status_code}"
            if attempt < spec.retries:
                time.sleep(min(0.2 * 2**attempt, 1.0))
        if response is None or response.status_code >= 500:
            log.warning("operation %s unavailable: %s", name, last_error)
            return OperationResult(ok=False, error=f"{name} is unavailable ({last_error})", retryable=True)

        try:
            payload: Any = response.json()
        except ValueError:
            payload = response.text
        context = {"body": payload, "status": response.status_code, "args": dict(args)}
        if response.status_code >= 400:
            detail = payload.get("error") if isinstance(payload, dict) else payload
            return OperationResult(ok=False, error=f"{name} refused: {detail}")
        try:
            if spec.error_when and evaluate(spec.error_when, context):
                detail = evaluate(spec.response, context) if isinstance(spec.response, str) else payload
                return OperationResult(ok=False, error=str(detail))
            if spec.response is None:
                data = payload
            elif isinstance(spec.response, str):
                data = evaluate(spec.response, context)
            else:
                data = {key: evaluate(expr, context) for key, expr in spec.response.items()}
        except ExpressionError as exc:
            return OperationResult(ok=False, error=f"{name}: unexpected response ({exc})")
        return OperationResult(ok=True, data=data)
