"""Model registry: built-in models, and a place to plug in your own.

>>> from labelapp.learning.models import create_model, load_model
>>> model = create_model("cnn_classifier", classes=["cat", "dog"], input_size=64)
>>> model.save("model.pt"); model = load_model("model.pt")

A custom model subclasses :class:`ImageModel` and is registered once at
start-up with :func:`register_model`; checkpoints name their model, so
:func:`load_model` finds the right class again.
"""

from __future__ import annotations

import os
from typing import Any

import torch

from labelapp.learning.models.base import (
    CHECKPOINT_FORMAT,
    ClassificationOutput,
    Detections,
    ImageModel,
)
from labelapp.learning.models.centernet import CenterNetDetector
from labelapp.learning.models.centernet_mobilenet import CenterNetMobileNetDetector
from labelapp.learning.models.cnn import CNNClassifier
from labelapp.learning.models.embedding_head import EmbeddingClassifier
from labelapp.learning.models.finetuned import FineTunedClassifier

__all__ = [
    "CNNClassifier",
    "CenterNetDetector",
    "CenterNetMobileNetDetector",
    "ClassificationOutput",
    "Detections",
    "EmbeddingClassifier",
    "FineTunedClassifier",
    "ImageModel",
    "available_models",
    "create_model",
    "load_model",
    "model_class",
    "read_checkpoint",
    "register_model",
]

# Registry of model classes by name (classes, not loaded models: nothing is cached).
_REGISTRY: dict[str, type[ImageModel]] = {}


def register_model(name: str, cls: type[ImageModel]) -> None:
    """Make a model class available under ``name``.

    Parameters
    ----------
    name : str
        Registry name, stored in checkpoints.  If ``cls`` defines a ``name``
        attribute it must equal this; if it does not, it is set to ``name``.
    cls : type
        A concrete subclass of :class:`ImageModel` whose ``task`` is
        ``"classification"`` or ``"detection"``.

    Raises
    ------
    ValueError
        If the name is empty, already taken by another class, or ``cls``
        is not a usable :class:`ImageModel` subclass.  Registering the same
        class under the same name again is a no-op.
    """
    if not isinstance(name, str) or not name.strip():
        raise ValueError("model name must be a non-empty string")
    if not (isinstance(cls, type) and issubclass(cls, ImageModel)):
        raise ValueError(f"{cls!r} is not an ImageModel subclass")
    if getattr(cls, "__abstractmethods__", None):
        raise ValueError(f"{cls.__name__} is abstract: implement {sorted(cls.__abstractmethods__)}")
    if getattr(cls, "task", None) not in ("classification", "detection"):
        raise ValueError(f"{cls.__name__}.task must be 'classification' or 'detection'")
    own_name = cls.__dict__.get("name")
    if own_name is not None and own_name != name:
        raise ValueError(f"{cls.__name__}.name is {own_name!r}, cannot register it as {name!r}")
    existing = _REGISTRY.get(name)
    if existing is not None and existing is not cls:
        raise ValueError(f"model name {name!r} is already registered to {existing.__name__}")
    cls.name = name
    _REGISTRY[name] = cls


def available_models() -> list[str]:
    """Registered model names, sorted."""
    return sorted(_REGISTRY)


def model_class(name: str) -> type[ImageModel]:
    """The registered class of a model name (``ValueError`` if unknown)."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; available: {available_models()}") from None


def create_model(name: str, *, classes: list[str], input_size: int, **options: Any) -> ImageModel:
    """Build an untrained model.

    Parameters
    ----------
    name : str
        A registered name (see :func:`available_models`).
    classes : list of str
        Label names.
    input_size : int
        Square input side.
    **options
        Model-specific keyword options (e.g. ``width``).

    Raises
    ------
    ValueError
        Unknown name, or options the model rejects.
    """
    cls = model_class(name)
    if not isinstance(classes, (list, tuple)):
        raise ValueError(f"classes must be a list of strings, got {type(classes).__name__}")
    try:
        return cls(classes=list(classes), input_size=input_size, **options)
    except TypeError as exc:  # unknown keyword options
        raise ValueError(f"bad options for {name!r}: {exc}") from exc


def read_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Load a checkpoint dictionary safely (``weights_only=True``, on CPU).

    Raises ``ValueError`` if the file is not a labelapp checkpoint.
    """
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as exc:  # torch raises several unrelated types for bad files
        raise ValueError(f"cannot read checkpoint {path}: {exc}") from exc
    required = {"format", "model", "classes", "input_size", "options", "weights"}
    if not isinstance(ckpt, dict) or not required <= set(ckpt):
        raise ValueError(f"{path} is not a labelapp model checkpoint")
    if ckpt["format"] != CHECKPOINT_FORMAT:
        raise ValueError(f"unsupported checkpoint format {ckpt['format']!r}")
    return ckpt


def load_model(path: str | os.PathLike) -> ImageModel:
    """Rebuild a model saved with :meth:`ImageModel.save`.

    The checkpoint is read with ``torch.load(path, map_location="cpu",
    weights_only=True)``: only tensors and primitive containers, never code.

    Raises
    ------
    ValueError
        Not a checkpoint, unknown model name (register custom models first),
        or weights that do not fit the rebuilt network.
    FileNotFoundError
        If ``path`` does not exist.
    """
    ckpt = read_checkpoint(path)
    model = create_model(
        ckpt["model"], classes=list(ckpt["classes"]), input_size=int(ckpt["input_size"]), **dict(ckpt["options"])
    )
    model.set_weights(dict(ckpt["weights"]))
    return model


register_model(CNNClassifier.name, CNNClassifier)
register_model(CenterNetDetector.name, CenterNetDetector)
register_model(EmbeddingClassifier.name, EmbeddingClassifier)
register_model(CenterNetMobileNetDetector.name, CenterNetMobileNetDetector)
register_model(FineTunedClassifier.name, FineTunedClassifier)
