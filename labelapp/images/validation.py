"""Upload validation: everything is checked in memory before a row or file is written."""

import hashlib
import io
import warnings
from dataclasses import dataclass

from django.conf import settings
from PIL import Image as PilImage
from PIL import UnidentifiedImageError

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
    name: str
    data: bytes
    sha256: str
    width: int
    height: int
    format: str


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
    except UploadRejected:
        raise
    except (PilImage.DecompressionBombError, PilImage.DecompressionBombWarning):
        raise UploadRejected(f"{name}: the image is too large to decode (possible decompression bomb).", code="decompression_bomb") from None
    except UnidentifiedImageError:
        raise UploadRejected(f"{name}: not an image (the content is not a format Pillow can read).", code="not_an_image") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise UploadRejected(f"{name}: the image is truncated or corrupt ({exc}).", code="corrupt_image") from None
    if fmt not in ALLOWED_FORMATS:
        raise UploadRejected(f"{name}: {fmt} images are not accepted; use JPEG, PNG, WebP, BMP, GIF or TIFF.", code="unsupported_format")
    suffix = name[name.rfind("."):].lower() if "." in name else ""
    if suffix and suffix not in EXTENSIONS_BY_FORMAT[fmt]:
        raise UploadRejected(
            f"{name}: the extension {suffix} does not match the content, which is {fmt}.", code="extension_mismatch"
        )
    if content_type and content_type.startswith("image/") and content_type != "image/*":
        declared = content_type.split(";")[0].strip().lower()
        expected = {"JPEG": {"image/jpeg", "image/jpg", "image/pjpeg"}, "PNG": {"image/png"}, "WEBP": {"image/webp"},
                    "BMP": {"image/bmp", "image/x-ms-bmp"}, "GIF": {"image/gif"}, "TIFF": {"image/tiff"}}[fmt]
        if declared not in expected:
            raise UploadRejected(
                f"{name}: the declared content type {declared} does not match the content, which is {fmt}.",
                code="content_type_mismatch",
            )
    elif content_type and not content_type.startswith(("image/", "application/octet-stream")):
        raise UploadRejected(f"{name}: the declared content type {content_type} is not an image type.", code="content_type_mismatch")
    return ValidImage(
        name=name, data=data, sha256=hashlib.sha256(data).hexdigest(), width=width, height=height, format=fmt
    )
