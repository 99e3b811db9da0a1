"""Upload validation: everything is checked in memory before a row or file is written."""

import hashlib
import io
import warnings
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from PIL import Image as PilImage
from PIL import ImageOps, UnidentifiedImageError

from labelapp.core.errors import ServiceError

ALLOWED_FORMATS = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp", "BMP": ".bmp", "GIF": ".gif", "TIFF": ".tif"}
EXTENSIONS_BY_FORMAT = {
    "JPEG": {".jpg", ".jpeg", ".jpe"},
    "PNG": {".png"},
    "WEBP": {".webp"},
    "BMP": {".bmp"},
    "GIF": {".gif"},
    "TIFF": {".tif", ".tiff"},
}


class UploadRejected(ServiceError):
    code = "upload_rejected"


@dataclass(frozen=True)
class ValidImage:
    """`data` is what is stored: the upload itself, or its normalised re-encoding (see
    `normalized_for_storage`). `sha256` is always of the upload as sent, so a re-upload of the
    same file is found as a duplicate and clients can match the answer to their files."""

    name: str
    data: bytes
    sha256: str
    width: int
    height: int
    format: str


EXIF_ORIENTATION = 0x0112
HIGH_BIT_DEPTH_MODES = {"I", "I;16", "I;16B", "I;16L", "I;16N", "F"}


def normalized_for_storage(image: PilImage.Image) -> PilImage.Image | None:
    """The image to store instead of the upload, or None to store the upload as it is.

    Issue 14 item 8: one coordinate system and one set of pixels for the stored size, the
    thumbnail, the file the browser shows and the training tensor.
    - An EXIF orientation other than 1 is applied to the pixels (and removed from the
      metadata): browsers rotate by it, so boxes drawn there are in rotated coordinates.
    - 16-bit and float greyscale is scaled to 8 bits: a plain conversion clips every value
      over 255 to white, which turned 16-bit PNGs black and white.
    Animated images are left alone (re-encoding would keep only the first frame)."""
    if getattr(image, "is_animated", False):
        return None
    changed = None
    if image.getexif().get(EXIF_ORIENTATION, 1) not in (0, 1):
        changed = ImageOps.exif_transpose(image)
    source = changed or image
    if source.mode in HIGH_BIT_DEPTH_MODES:
        pixels = np.asarray(source, dtype=np.float64)
        if source.mode == "F":
            low, high = float(np.nanmin(pixels)), float(np.nanmax(pixels))
            scaled = (pixels - low) / (high - low or 1.0) * 255.0
        else:
            # Integer modes hold 16-bit samples (PNG, TIFF): 0..65535 → 0..255.
            scaled = pixels / 257.0
        changed = PilImage.fromarray(np.clip(np.nan_to_num(scaled), 0, 255).round().astype(np.uint8), mode="L")
        changed.info = {key: value for key, value in source.info.items() if key in ("icc_profile", "dpi")}
    return changed


def _encode(image: PilImage.Image, fmt: str) -> bytes:
    out = io.BytesIO()
    options = {}
    if image.info.get("icc_profile"):
        options["icc_profile"] = image.info["icc_profile"]
    exif = image.getexif()
    if exif:
        exif.pop(EXIF_ORIENTATION, None)
        options["exif"] = exif.tobytes()
    if fmt == "JPEG":
        options.update(quality=95, subsampling=0)
        if image.mode not in ("RGB", "L", "CMYK"):
            image = image.convert("RGB")
    elif fmt == "WEBP":
        options.update(quality=95)
    image.save(out, format=fmt, **options)
    return out.getvalue()


def clean_file_name(name: str) -> str:
    """The base name only; path-like names (directories, traversal, NUL) are refused."""
    if not name or "\x00" in name:
        raise UploadRejected(f"{name!r}: the file name is empty or contains a NUL byte.", code="bad_file_name")
    if "/" in name or "\\" in name or name in {".", ".."} or name.startswith(".."):
        raise UploadRejected(
            f"{name!r}: file names must not contain a path (/, \\ or ..); send the base name only.",
            code="bad_file_name",
        )
    if len(name) > 255:
        raise UploadRejected(f"{name[:40]!r}…: the file name is longer than 255 characters.", code="bad_file_name")
    return name


def validate_image_bytes(name: str, data: bytes, *, content_type: str | None = None) -> ValidImage:
    """Check one upload and return what to store. Raises UploadRejected with the reason."""
    name = clean_file_name(name)
    limit = settings.LABELAPP_MAX_UPLOAD_BYTES
    if len(data) > limit:
        raise UploadRejected(f"{name}: {len(data)} bytes is over the upload limit of {limit} bytes.", code="too_large")
    if not data:
        raise UploadRejected(f"{name}: the file is empty.", code="empty_file")
    max_pixels = settings.LABELAPP_MAX_IMAGE_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", PilImage.DecompressionBombWarning)
            with PilImage.open(io.BytesIO(data)) as probe:
                fmt = probe.format
                width, height = probe.size
                if width * height > max_pixels:
                    raise UploadRejected(
                        f"{name}: {width}×{height} pixels is over the limit of {max_pixels} pixels "
                        "(possible decompression bomb).",
                        code="decompression_bomb",
                    )
                probe.verify()
            # verify() does not decode pixel data; a full load catches truncated files.
            with PilImage.open(io.BytesIO(data)) as full:
                full.load()
                normalized = normalized_for_storage(full) if fmt in ALLOWED_FORMATS else None
                if normalized is not None:
                    stored = _encode(normalized, fmt)
                    width, height = normalized.size
    except UploadRejected:
        raise
    except (PilImage.DecompressionBombError, PilImage.DecompressionBombWarning):
        raise UploadRejected(
            f"{name}: the image is too large to decode (possible decompression bomb).", code="decompression_bomb"
        ) from None
    except UnidentifiedImageError:
        raise UploadRejected(
            f"{name}: not an image (the content is not a format Pillow can read).", code="not_an_image"
        ) from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise UploadRejected(f"{name}: the image is truncated or corrupt ({exc}).", code="corrupt_image") from None
    if fmt not in ALLOWED_FORMATS:
        raise UploadRejected(
            f"{name}: {fmt} images are not accepted; use JPEG, PNG, WebP, BMP, GIF or TIFF.", code="unsupported_format"
        )
    suffix = name[name.rfind(".") :].lower() if "." in name else ""
    if suffix and suffix not in EXTENSIONS_BY_FORMAT[fmt]:
        raise UploadRejected(
            f"{name}: the extension {suffix} does not match the content, which is {fmt}.", code="extension_mismatch"
        )
    if content_type and content_type.startswith("image/") and content_type != "image/*":
        declared = content_type.split(";")[0].strip().lower()
        expected = {
            "JPEG": {"image/jpeg", "image/jpg", "image/pjpeg"},
            "PNG": {"image/png"},
            "WEBP": {"image/webp"},
            "BMP": {"image/bmp", "image/x-ms-bmp"},
            "GIF": {"image/gif"},
            "TIFF": {"image/tiff"},
        }[fmt]
        if declared not in expected:
            raise UploadRejected(
                f"{name}: the declared content type {declared} does not match the content, which is {fmt}.",
                code="content_type_mismatch",
            )
    elif content_type and not content_type.startswith(("image/", "application/octet-stream")):
        raise UploadRejected(
            f"{name}: the declared content type {content_type} is not an image type.", code="content_type_mismatch"
        )
    return ValidImage(
        name=name,
        data=stored if normalized is not None else data,
        sha256=hashlib.sha256(data).hexdigest(),
        width=width,
        height=height,
        format=fmt,
    )
