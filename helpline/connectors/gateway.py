"""The OperationGateway adapter: routes an operation name to SQL, HTTP or a Python plugin."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Mapping
from importlib.metadata import entry_points
from typing import Any

from helpline.connectors.http import HttpOperations
from helpline.connectors.sql import SqlOperations
from helpline.conversation.ports import OperationResult
from helpline.pack.models import OperationsFile

log = logging.getLogger(__name__)

PluginFunction = Callable[[dict[str, Any]], Any]


def load_plugin(reference: str) -> PluginFunction:
    """'package.module:function', or the name of an entry point in group ``helpline.operations``."""
    if ":" in reference:
        module_name, _, attribute = reference.partition(":")
        function = getattr(importlib.import_module(module_name), attribute)
    else:
        matches = [ep for ep in entry_points(group="helpline.operations") if ep.name == reference]
        if not matches:
            raise LookupError(f"no plugin '{reference}' in entry point group helpline.operations")
        function = matches[0].load()
    if not callable(function):
        raise TypeError(f"plugin '{reference}' is not callable")
    return function


class PackOperations:
    """Every operation of a pack, behind the engine's OperationGateway port."""

    def __init__(self, spec: OperationsFile, sql: SqlOperations | None, http: HttpOperations | None = None):
        self.spec = spec
        self.sql = sql
        self.http = http or HttpOperations()
        self._plugins: dict[str, PluginFunction] = {}

    def call(self, name: str, args: Mapping[str, Any]) -> OperationResult:
        op = self.spec.operations.get(name)
        if op is None:
            return OperationResult(ok=False, error=f"unknown operation '{name}'")
        missing = [p for p in op.params if p not in op.optional and args.get(p) in (None, "")]
        if missing:
            return OperationResult(ok=False, error=f"{name} needs {', '.join(missing)}")
        try:
            if op.sql is not None:
                if self.sql is None:
                    return OperationResult(ok=False, error="no SQL tables are configured")
                return self.sql.run(name, op, args)
            if op.http is not None:
                return self.http.run(name, op.http, args)
            function = self._plugins.get(name)
            if function is None:
                function = self._plugins[name] = load_plugin(op.plugin or "")
            return OperationResult(ok=True, data=function(dict(args)))
        except Exception as exc:  # a connector bug must never take the conversation down
            log.exception("operation %s crashed", name)
            return OperationResult(ok=False, error=f"{name} failed: {type(exc).__name__}", retryable=True)
