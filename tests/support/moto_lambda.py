"""A moto server whose Lambda functions keep their logging configuration: ``python -m tests.support.moto_lambda``.

moto 5 accepts ``LoggingConfig`` in CreateFunction and UpdateFunctionConfiguration but drops it, so GetFunction
never returns it and Terraform, reading the function back, plans ``logging_config`` again after every apply. AWS
keeps it, and returns ``{"LogFormat": "Text", "LogGroup": "/aws/lambda/<name>"}`` for a function created without
one; this server does the same (the rest is moto's).
"""

from __future__ import annotations

import sys
from typing import Any


def _patch_logging_config() -> None:
    from moto.awslambda.models import LambdaFunction

    create, configuration, update = (
        LambdaFunction.__init__,
        LambdaFunction.get_configuration,
        LambdaFunction.update_configuration,
    )

    def __init__(self: Any, account_id: str, spec: dict[str, Any], region: str, version: str | int = 1) -> None:
        create(self, account_id, spec, region, version)
        self.logging_config = {"LogFormat": "Text", "LogGroup": f"/aws/lambda/{spec['FunctionName']}"}
        self.logging_config.update(spec.get("LoggingConfig") or {})

    def get_configuration(self: Any, on_create: bool = False) -> dict[str, Any]:
        config: dict[str, Any] = configuration(self, on_create)
        config["LoggingConfig"] = dict(getattr(self, "logging_config", {}))
        return config

    def update_configuration(self: Any, config_updates: dict[str, Any]) -> dict[str, Any]:
        if config_updates.get("LoggingConfig"):
            self.logging_config = {**getattr(self, "logging_config", {}), **config_updates["LoggingConfig"]}
        result: dict[str, Any] = update(self, config_updates)
        return result

    LambdaFunction.__init__ = __init__  # type: ignore[method-assign]
    LambdaFunction.get_configuration = get_configuration  # type: ignore[method-assign]
    LambdaFunction.update_configuration = update_configuration  # type: ignore[method-assign]


def main(argv: list[str] | None = None) -> None:
    from moto import server

    _patch_logging_config()
    server.main(argv if argv is not None else sys.argv[1:])


if __name__ == "__main__":
    main()
