"""The image files the client sends: finding them, reading them, their content type."""

from __future__ import annotations

import mimetypes
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .cache import QueuedItem
from .errors import UsageError

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".jpe", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff"})


def iter_image_files(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """Files named directly, plus the images (by extension) under each folder, recursively,
    in a stable order; hidden files and folders are skipped."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    if not name.startswith(".") and Path(name).suffix.lower() in IMAGE_EXTENSIONS:
                        found.append(Path(root) / name)
        elif path.is_file():
            found.append(path)
        else:
            raise UsageError(f"{path}: no such file or folder.")
    return found


def content_type(name: str) -> str:
    guessed = mimetypes.guess_type(name)[0]
    return guessed if guessed and guessed.startswith("image/") else "application/octet-stream"


@dataclass
class Outgoing:
    """One file on its way to the server: read from the user's disk or from the cache."""

    name: str
    sha256: str
    data: bytes
    path: str
    queued: QueuedItem | None = None


def read_image_file(path: Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file.") from None
    except IsADirectoryError:
        raise UsageError(f"{path} is a folder; upload takes folders, predict and stream take image files.") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read it ({exc.strerror}).") from None
