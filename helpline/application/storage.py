"""What the API and the CLI hold of the store: the database handle they pass to the application's services (they
open no session on it and read no row through it), and the refusals those services let through, which the API
answers as 404 (``NotFound``) and 409 (``Conflict``). Channels, voice and the console get the handle from the
runtime and never name it; the API's dependencies and the CLI's wiring do."""

from __future__ import annotations

from helpline.store.db import Database, default_url
from helpline.store.repositories import Conflict, NotFound

__all__ = ["Conflict", "Database", "NotFound", "default_url"]
