"""A protocol from a run config's ``eval:`` section (``{"protocol": name, ...its arguments}``)."""

from __future__ import annotations

from typing import Any

from semspace.errors import ConfigError
from semspace.eval.protocols.registry import PROTOCOLS


def protocol_from_cfg(eval_cfg: dict[str, Any] | None) -> Any:
    """``protocol(task) -> {metric: value}`` described by ``eval_cfg``, or None for an empty section.

    Raises:
        ConfigError: no ``protocol`` name, an unknown one (the message lists them) or bad arguments.
    """
    if not eval_cfg:
        return None
    args = dict(eval_cfg)
    name = args.pop("protocol", None)
    if not name:
        raise ConfigError("eval: missing 'protocol' (the name of an evaluation protocol)")
    try:
        return PROTOCOLS.create(name, **args)
    except KeyError as exc:  # the registry lists the available names
        raise ConfigError(f"eval.protocol: {exc.args[0]}") from None
