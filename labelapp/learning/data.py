"""Image decoding, model-input preparation and the on-disk pool cache.

Everything here works on NumPy arrays and never imports torch, so the web
process can decode and prepare images without paying for ``import torch``.

Conventions
-----------
* Images are ``uint8`` arrays of shape ``(H, W, 3)`` in RGB order.
* Boxes are ``float32`` arrays of shape ``(k, 4)`` in ``xyxy`` pixel
  coordinates (x1, y1, x2, y2), with x to the right and y downwards.
* Classification inputs are squashed to ``(size, size)`` (aspect ratio is not
  kept: whole-image classes survive it and no pixels are wasted on padding).
* Detection inputs are letterboxed (aspect ratio kept, grey padding) so that
  boxes map back to the original image exactly.
"""

from __future__ import annotations

import io
import logging
import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

logger = logging.getLogger(__name__)

TASKS = ("classification", "detection")

#: Grey used for letterbox padding (the usual YOLO/CenterNet convention).
PAD_VALUE = 114

__all__ = [
    "PAD_VALUE",
    "TASKS",
    "ChunkStore",
    "Letterbox",
    "PoolCache",
    "VectorCache",
    "decode_rgb",
    "letterbox",
    "prepare",
    "resize_square",
]


def _check_image(img: np.ndarray, what: str = "img") -> None:
    if not isinstance(img, np.ndarray):
        raise ValueError(f"{what} must be a numpy array, got {type(img).__name__}")
    if img.dtype != np.uint8:
        raise ValueError(f"{what} must have dtype uint8, got {img.dtype}")
    if img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f"{what} must have shape (H, W, 3), got {img.shape}")
    if img.shape[0] < 1 or img.shape[1] < 1:
        raise ValueError(f"{what} must not be empty, got {img.shape}")


def _check_size(size: int) -> int:
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
        raise ValueError(f"size must be a positive int, got {size!r}")
    return int(size)


def _check_boxes(boxes_xyxy: np.ndarray) -> np.ndarray:
    boxes = np.asarray(boxes_xyxy, dtype=np.float32)
    if boxes.size == 0:
        return np.zeros((0, 4), dtype=np.float32)
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(f"boxes must have shape (k, 4), got {boxes.shape}")
    if not np.all(np.isfinite(boxes)):
        raise ValueError("boxes must be finite")
    return boxes


def decode_rgb(source: bytes | str | os.PathLike) -> np.ndarray:
    """Decode an encoded image (JPEG, PNG, WebP, ...) into an RGB array.

    EXIF orientation is applied, so the array is what a browser shows.
    Palette, greyscale, CMYK and alpha images are converted to RGB (alpha is
    dropped, not composited).

    Parameters
    ----------
    source : bytes or str or os.PathLike
        The encoded file content, or a path to the file.

    Returns
    -------
    np.ndarray
        ``uint8`` array of shape ``(H, W, 3)``, RGB.

    Raises
    ------
    ValueError
        If the data is empty, cannot be decoded, is truncated, or is a
        decompression bomb.
    FileNotFoundError
        If ``source`` is a path that does not exist.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        if len(source) == 0:
            raise ValueError("cannot decode an empty byte string")
        stream: io.BytesIO | Path = io.BytesIO(bytes(source))
    elif isinstance(source, (str, os.PathLike)):
        stream = Path(source)
        if not stream.is_file():
            raise FileNotFoundError(f"no such image file: {stream}")
    else:
        raise ValueError(f"source must be bytes or a path, got {type(source).__name__}")
    try:
        with Image.open(stream) as im:
            # load() inside the try: PIL decodes lazily, and truncated data
            # only fails here.
            im.load()
            im = ImageOps.exif_transpose(im)
            rgb = im.convert("RGB")
            arr = np.asarray(rgb, dtype=np.uint8)
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError) as exc:
        raise ValueError(f"cannot decode image: {exc}") from exc
    return np.ascontiguousarray(arr)


def resize_square(img: np.ndarray, size: int) -> np.ndarray:
    """Resize an image to ``(size, size)`` ignoring its aspect ratio.

    Used for classification inputs.  Bilinear with antialiasing (PIL), so
    downscaling large photos does not alias.

    Parameters
    ----------
    img : np.ndarray
        ``uint8`` ``(H, W, 3)``.
    size : int
        Output side in pixels, ``>= 1``.

    Returns
    -------
    np.ndarray
        ``uint8`` ``(size, size, 3)``.
    """
    _check_image(img)
    size = _check_size(size)
    if img.shape[0] == size and img.shape[1] == size:
        return np.ascontiguousarray(img)
    out = Image.fromarray(img).resize((size, size), Image.BILINEAR)
    return np.asarray(out, dtype=np.uint8)


@dataclass(frozen=True)
class Letterbox:
    """The affine map from original-image pixels to letterboxed model input.

    ``input = original * scale + (pad_x, pad_y)``.

    Attributes
    ----------
    scale : float
        Model-input pixels per original pixel.
    pad_x, pad_y : float
        Offset of the resized image inside the square input, in input pixels.
    size : int
        Side of the square model input.
    width, height : int or None
        Original image size, when known; :meth:`to_original` then clips boxes
        to the original image.  Optional so the first four fields can be
        stored and rebuilt alone.
    """

    scale: float
    pad_x: float
    pad_y: float
    size: int
    width: int | None = None
    height: int | None = None

    def __post_init__(self) -> None:
        if not (np.isfinite(self.scale) and self.scale > 0):
            raise ValueError(f"scale must be positive, got {self.scale}")
        _check_size(self.size)

    def to_input(self, boxes_xyxy: np.ndarray) -> np.ndarray:
        """Map boxes from original pixels to model-input pixels.

        Parameters
        ----------
        boxes_xyxy : np.ndarray
            ``(k, 4)`` xyxy in original-image pixels (any float/int dtype).

        Returns
        -------
        np.ndarray
            ``float32`` ``(k, 4)`` xyxy in model-input pixels, clipped to
            ``[0, size]``.
        """
        boxes = _check_boxes(boxes_xyxy).copy()
        boxes[:, [0, 2]] = boxes[:, [0, 2]] * self.scale + self.pad_x
        boxes[:, [1, 3]] = boxes[:, [1, 3]] * self.scale + self.pad_y
        return np.clip(boxes, 0, self.size).astype(np.float32)

    def to_original(self, boxes_xyxy: np.ndarray) -> np.ndarray:
        """Map boxes from model-input pixels back to original pixels.

        Parameters
        ----------
        boxes_xyxy : np.ndarray
            ``(k, 4)`` xyxy in model-input pixels.

        Returns
        -------
        np.ndarray
            ``float32`` ``(k, 4)`` xyxy in original pixels; clipped to the
            original image when ``width``/``height`` are known.
        """
        boxes = _check_boxes(boxes_xyxy).copy()
        boxes[:, [0, 2]] = (boxes[:, [0, 2]] - self.pad_x) / self.scale
        boxes[:, [1, 3]] = (boxes[:, [1, 3]] - self.pad_y) / self.scale
        if self.width is not None and self.height is not None:
            boxes[:, [0, 2]] = np.clip(boxes[:, [0, 2]], 0, self.width)
            boxes[:, [1, 3]] = np.clip(boxes[:, [1, 3]], 0, self.height)
        return boxes.astype(np.float32)


def letterbox(img: np.ndarray, size: int) -> tuple[np.ndarray, Letterbox]:
    """Fit an image into a ``size`` x ``size`` square, keeping aspect ratio.

    The image is scaled so its longer side is ``size`` and centred; the rest
    is filled with :data:`PAD_VALUE` grey.

    Parameters
    ----------
    img : np.ndarray
        ``uint8`` ``(H, W, 3)``.
    size : int
        Side of the square output.

    Returns
    -------
    out : np.ndarray
        ``uint8`` ``(size, size, 3)``.
    box : Letterbox
        The transform, to map boxes in and out.
    """
    _check_image(img)
    size = _check_size(size)
    h, w = img.shape[:2]
    scale = size / max(h, w)
    new_w = min(size, max(1, round(w * scale)))
    new_h = min(size, max(1, round(h * scale)))
    pad_x = (size - new_w) // 2
    pad_y = (size - new_h) // 2
    out = np.full((size, size, 3), PAD_VALUE, dtype=np.uint8)
    if (new_w, new_h) == (w, h):
        resized = img
    else:
        resized = np.asarray(Image.fromarray(img).resize((new_w, new_h), Image.BILINEAR))
    out[pad_y : pad_y + new_h, pad_x : pad_x + new_w] = resized
    return out, Letterbox(scale=float(scale), pad_x=float(pad_x), pad_y=float(pad_y), size=size, width=w, height=h)


def prepare(img: np.ndarray, size: int, task: str) -> tuple[np.ndarray, Letterbox | None]:
    """Prepare a decoded image as model input for a task.

    Parameters
    ----------
    img : np.ndarray
        ``uint8`` ``(H, W, 3)`` RGB.
    size : int
        The model's ``input_size``.
    task : {"classification", "detection"}
        Classification squashes (:func:`resize_square`), detection letterboxes
        (:func:`letterbox`).

    Returns
    -------
    image : np.ndarray
        ``uint8`` ``(size, size, 3)``.
    transform : Letterbox or None
        The letterbox transform for detection, ``None`` for classification.
    """
    if task == "classification":
        return resize_square(img, size), None
    if task == "detection":
        return letterbox(img, size)
    raise ValueError(f"task must be one of {TASKS}, got {task!r}")


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], object]) -> None:
    """Write a file so that readers and crashes see the old file or the new one, never a
    part: ``write(fh)`` fills a temporary file in the same directory, which is fsynced and
    then renamed over ``path``."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _signature(stat: os.stat_result) -> tuple[int, int]:
    return stat.st_ino, stat.st_mtime_ns


_CHUNK_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_SUFFIX = ".npy"


class ChunkStore:
    """On-disk store of fixed-shape records keyed by image id, in chunks.

    Rescoring a pool of millions of images must not decode a JPEG (or run a backbone)
    twice: each image's record is computed once, written here, and every later reader
    gets it memory-mapped, touching only what it reads.

    Layout
    ------
    ``<directory>/<name>.npy`` — one file per chunk, a NumPy structured array with fields
    ``id`` (``int64``) and the record field.  One file per chunk (rather than separate id
    and record files) makes a chunk write a single atomic ``os.replace``: a reader sees the
    old chunk or the new one, never a mix, and never a half-written file.  Temporary files
    start with ``.`` and are ignored.

    Parameters
    ----------
    directory : str or os.PathLike
        Created if missing.  One directory per record kind (input size, backbone).
    field : str
        Name of the record field.
    shape : tuple of int
        Shape of one record.
    dtype : numpy dtype
        Dtype of the records.
    """

    def __init__(self, directory: str | os.PathLike, *, field: str, shape: tuple[int, ...], dtype):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.field = field
        self.shape = tuple(shape)
        self.item_dtype = np.dtype(dtype)
        self._dtype = np.dtype([("id", "<i8"), (field, self.item_dtype, self.shape)])
        self._index: dict[int, tuple[str, int]] | None = None
        # The chunk files the index was built from: name → (inode, mtime). A chunk is replaced
        # by renaming a new file over it, so its inode changes even within one clock tick.
        self._indexed: dict[str, tuple[int, int]] = {}

    def _path(self, name: str) -> Path:
        if not isinstance(name, str) or not _CHUNK_NAME.match(name):
            raise ValueError(f"chunk name must match {_CHUNK_NAME.pattern} (no path separators), got {name!r}")
        return self.directory / (name + _SUFFIX)

    def write_chunk(self, name: str, ids: np.ndarray, records: np.ndarray) -> None:
        """Write (or atomically replace) a chunk.

        Parameters
        ----------
        name : str
            Chunk name: letters, digits, ``_.-``; no leading dot.
        ids : np.ndarray
            ``int64`` ``(N,)`` image ids, unique within the chunk.
        records : np.ndarray
            ``(N, *shape)`` of the store's dtype.

        Notes
        -----
        Writes to a temporary file in the same directory, fsyncs it, then
        ``os.replace`` s it into place, so concurrent readers and crashes never
        see a partial chunk.  Idempotent: writing the same chunk twice leaves
        the same file.
        """
        path = self._path(name)
        ids = np.asarray(ids)
        if ids.ndim != 1 or not np.issubdtype(ids.dtype, np.integer):
            raise ValueError(f"ids must be a 1-d integer array, got {ids.dtype} {ids.shape}")
        if not isinstance(records, np.ndarray) or records.dtype != self.item_dtype:
            raise ValueError(f"{self.field}s must be a {self.item_dtype} numpy array")
        expected = (len(ids), *self.shape)
        if records.shape != expected:
            raise ValueError(f"{self.field}s must have shape {expected}, got {records.shape}")
        if len(np.unique(ids)) != len(ids):
            raise ValueError("ids must be unique within a chunk")
        rows = np.empty(len(ids), dtype=self._dtype)
        rows["id"] = ids
        rows[self.field] = records
        atomic_write(path, lambda fh: np.save(fh, rows, allow_pickle=False))
        if self._index is not None and name not in self._indexed:
            self._add_to_index(name, ids, _signature(path.stat()))
        else:
            self._index = None
        logger.debug("chunk store: wrote chunk %s (%d records) in %s", name, len(ids), self.directory)

    def _open(self, name: str) -> np.ndarray:
        path = self._path(name)
        if not path.is_file():
            raise KeyError(f"no chunk named {name!r} in {self.directory}")
        records = np.load(path, mmap_mode="r", allow_pickle=False)
        if records.dtype != self._dtype:
            raise ValueError(f"chunk {name!r} holds {records.dtype}, expected {self._dtype}")
        return records

    def read_chunk(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """Read a chunk.

        Returns
        -------
        ids : np.ndarray
            ``int64`` ``(N,)`` (an in-memory copy).
        records : np.ndarray
            ``(N, *shape)``, a read-only memory-mapped view: pages are read from disk as
            they are used.

        Raises
        ------
        KeyError
            If the chunk does not exist.
        ValueError
            If the chunk was written with another record shape or dtype.
        """
        records = self._open(name)
        return np.array(records["id"], dtype=np.int64), records[self.field]

    def chunk_names(self) -> list[str]:
        """Names of the complete chunks, sorted."""
        return sorted(p.name[: -len(_SUFFIX)] for p in self.directory.glob("*" + _SUFFIX) if not p.name.startswith("."))

    def delete_chunk(self, name: str) -> None:
        """Remove a chunk; missing chunks are ignored (idempotent)."""
        try:
            self._path(name).unlink()
        except FileNotFoundError:
            pass
        self._index = None

    def index(self) -> dict[int, tuple[str, int]]:
        """Map every cached id to ``(chunk name, row)``.

        Built on first use and after this instance writes; a chunk written by
        another process is seen after :meth:`refresh`.  If an id appears in
        several chunks, the chunk whose name sorts last wins.
        """
        if self._index is None:
            self._index, self._indexed = {}, {}
            for name, signature in sorted(self._chunk_signatures().items()):
                self._add_to_index(name, np.array(self._open(name)["id"]), signature)
        return self._index

    def refresh(self) -> None:
        """See chunks written by other processes since the index was built. Only new chunk
        files are read, so a refresh after each small write costs the size of the write, not
        of the cache; a chunk replaced or deleted meanwhile makes the next use rebuild it."""
        if self._index is None:
            return
        current = self._chunk_signatures()
        if any(current.get(name) != signature for name, signature in self._indexed.items()):
            self._index = None
            return
        for name in sorted(set(current) - set(self._indexed)):
            self._add_to_index(name, np.array(self._open(name)["id"]), current[name])

    def _chunk_signatures(self) -> dict[str, tuple[int, int]]:
        return {
            entry.name[: -len(_SUFFIX)]: _signature(entry.stat())
            for entry in os.scandir(self.directory)
            if entry.name.endswith(_SUFFIX) and not entry.name.startswith(".")
        }

    def _add_to_index(self, name: str, ids: np.ndarray, signature: tuple[int, int]) -> None:
        """Index one chunk; where an id is in several chunks, the name sorting last wins."""
        index = self._index
        for row, image_id in enumerate(ids.tolist()):
            held = index.get(image_id)
            if held is None or held[0] <= name:
                index[image_id] = (name, row)
        self._indexed[name] = signature

    def get_many(self, ids: np.ndarray) -> np.ndarray:
        """Gather records by id across chunks.

        Parameters
        ----------
        ids : np.ndarray
            Integer ``(N,)`` ids, in the order wanted.

        Returns
        -------
        np.ndarray
            ``(N, *shape)``, in memory, in the order of ``ids``.

        Raises
        ------
        KeyError
            If any id is not cached (all missing ids are named).
        """
        ids = np.asarray(ids)
        if ids.ndim != 1 or (ids.size and not np.issubdtype(ids.dtype, np.integer)):
            raise ValueError(f"ids must be a 1-d integer array, got {ids.dtype} {ids.shape}")
        index = self.index()
        missing = [int(i) for i in ids.tolist() if int(i) not in index]
        if missing:
            raise KeyError(f"ids not in {self.directory}: {missing[:20]}")
        out = np.empty((len(ids), *self.shape), dtype=self.item_dtype)
        by_chunk: dict[str, list[tuple[int, int]]] = {}
        for pos, image_id in enumerate(ids.tolist()):
            name, row = index[int(image_id)]
            by_chunk.setdefault(name, []).append((pos, row))
        for name, pairs in by_chunk.items():
            records = self._open(name)[self.field]
            positions = np.array([p for p, _ in pairs])
            rows = np.array([r for _, r in pairs])
            out[positions] = records[rows]
        return out


class PoolCache(ChunkStore):
    """Prepared model inputs: ``uint8`` ``(S, S, 3)`` per image, one directory per size.

    Chunks are the unit of work for rescoring (one Celery task per chunk);
    :meth:`get_many` serves random access by id across chunks (for example to gather the
    labeled images for training).
    """

    def __init__(self, directory: str | os.PathLike, size: int):
        self.size = _check_size(size)
        super().__init__(directory, field="image", shape=(self.size, self.size, 3), dtype=np.uint8)


class VectorCache(ChunkStore):
    """Embeddings: ``float16`` ``(D,)`` per image (half the bytes; cosine similarities of
    unit vectors lose nothing that ranking needs), one directory per backbone."""

    def __init__(self, directory: str | os.PathLike, dim: int):
        if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or dim < 1:
            raise ValueError(f"dim must be a positive int, got {dim!r}")
        self.dim = int(dim)
        super().__init__(directory, field="vector", shape=(self.dim,), dtype=np.float16)
