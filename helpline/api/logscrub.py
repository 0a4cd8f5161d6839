"""No secret from a URL in any log line.

A client may still put a credential in a query string (``/api/v1/media-stream?key=hl_…``, a resume
``token=…``); the server refuses it there, but the access log has already recorded the URL. The
``SecretScrubber`` filter rewrites each record's message so the values of secret-looking parameters
(``key``, ``token``, ``password``, ``secret``, ``api_key``, ``access_token``, ``signature``, …) read
``***``, and any Helpline API key (``hl_…``) is masked wherever it appears. It is installed on the
uvicorn loggers and on every handler of the root logger, so records that propagate are caught too.
"""

from __future__ import annotations

import logging
import re

SECRET_PARAMETERS = ("key", "api_key", "apikey", "token", "access_token", "refresh_token", "password", "pass",
                     "passwd", "secret", "client_secret", "signature", "sig", "auth", "authorization",
                     "session", "csrf", "code")
_NAMES = "|".join(re.escape(p) for p in SECRET_PARAMETERS)
_PARAMETER = re.compile(rf"(?i)([?&;](?:{_NAMES})=)[^&#\s\"']*")
# An API key anywhere (helpline.store.repositories: "hl_" + 32 url-safe bytes; the 8-character prefix
# shown in audit entries stays readable).
_API_KEY = re.compile(r"\b(hl_[A-Za-z0-9_-]{5})[A-Za-z0-9_-]{8,}")
MASK = "***"
LOGGERS = ("uvicorn", "uvicorn.access", "uvicorn.error", "helpline")


def scrub(text: str) -> str:
    """``text`` with secret query parameters and API keys masked."""
    if "=" in text:
        text = _PARAMETER.sub(lambda m: m.group(1) + MASK, text)
    if "hl_" in text:
        text = _API_KEY.sub(lambda m: m.group(1) + MASK, text)
    return text


class SecretScrubber(logging.Filter):
    """Masks secrets in the formatted message of every record that passes (never drops a record)."""

    def filter(self, record: logging.LogRecord) -> bool:
        # The arguments are scrubbed one by one, not merged into the message: uvicorn's access
        # formatter reads ``record.args`` as a (client, method, path, version, status) tuple.
        if isinstance(record.msg, str):
            record.msg = scrub(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(scrub(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: scrub(v) if isinstance(v, str) else v for k, v in record.args.items()}
        return True


def install_secret_scrubber() -> None:
    """Attach the scrubber to the uvicorn and Helpline loggers and to every handler they and the root
    logger have now. Safe to call again (e.g. once uvicorn has configured its logging)."""
    loggers = [logging.getLogger(), *(logging.getLogger(name) for name in LOGGERS)]
    for logger in loggers:
        _attach(logger)
        for handler in logger.handlers:
            _attach(handler)


def _attach(target: logging.Filterer) -> None:
    if not any(isinstance(f, SecretScrubber) for f in target.filters):
        target.addFilter(SecretScrubber())
