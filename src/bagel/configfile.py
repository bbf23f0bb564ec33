"""Reading a YAML config file into a pydantic model, every problem a one-line :class:`UserError`."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from bagel.errors import UserError

Model = TypeVar("Model", bound=BaseModel)


def error_line(err: ValidationError) -> str:
    """The first problem of a validation error as ``where: what`` (``unknown key 'x'`` for extras)."""
    first = err.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "config"
    if first["type"] == "extra_forbidden":
        return f"unknown key {where!r}"
    return f"{where}: {first['msg']}"


def load_yaml_model(path: Path, model: type[Model], what: str, defaults: dict | None = None) -> Model:
    """Read ``path`` (YAML, ``yaml.safe_load``) and validate it into ``model``.

    ``what`` names the file in messages ("recipe", "training config"); ``defaults`` fill
    keys the file leaves out.
    """
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{what} not found: {path}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise UserError(f"{path}: invalid YAML ({str(err).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise UserError(f"{path}: a {what} is a YAML mapping")
    try:
        return model.model_validate({**(defaults or {}), **data})
    except ValidationError as err:
        raise UserError(f"{path}: {error_line(err)}") from None
