"""Safe reading of user-supplied ZIP archives from a file: nothing is extracted to disk and
no more than one member is in memory at a time.

Rejected with a clear message: absolute paths, `..` components, symbolic links, encrypted
members, too many members, a total uncompressed size over the limit, a compression ratio
over the limit for the archive as a whole (many small members of zeros are a bomb too), and
single large members whose ratio marks a zip bomb."""

import posixpath
import stat
import struct
import zipfile
import zlib
from dataclasses import dataclass

from django.conf import settings

from labelapp.core.errors import ServiceError

MAX_MEMBERS = 200_000
#: Uncompressed / compressed over all members. Photos barely compress (about 1:1) and a COCO
#: JSON about 10:1, so a real dataset stays far below this; zeros compress about 1000:1.
MAX_TOTAL_RATIO = 50
#: The same for one member, checked on members large enough for the ratio to mean something.
MAX_MEMBER_RATIO = 200
MEMBER_RATIO_MIN_BYTES = 1_000_000


#: What zipfile raises on a damaged or hostile archive (found by mutating valid archives at random).
_DAMAGED = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    zlib.error,
    struct.error,
    OSError,
    EOFError,
    ValueError,
    IndexError,
    NotImplementedError,
    RuntimeError,
)


class ArchiveRejected(ServiceError):
    code = "archive_rejected"


@dataclass(frozen=True)
class Member:
    path: str  # normalised, relative, '/'-separated
    info: zipfile.ZipInfo

    @property
    def size(self) -> int:
        return self.info.file_size


def open_zip(file) -> zipfile.ZipFile:
    """A ZipFile over a path or a seekable binary file; 400 `not_a_zip` otherwise."""
    try:
        return zipfile.ZipFile(file)
    except _DAMAGED:
        raise ArchiveRejected("The file is not a ZIP archive, or it is damaged.", code="not_a_zip") from None


def archive_members(archive: zipfile.ZipFile, *, max_total: int | None = None) -> list[Member]:
    """Every file member (directories left out), after the safety checks over all of them.
    Reads only the central directory, never member data."""
    max_total = max_total or settings.LABELAPP_MAX_IMPORT_UNPACKED_BYTES
    infos = [info for info in archive.infolist() if not info.is_dir()]
    if len(infos) > MAX_MEMBERS:
        raise ArchiveRejected(f"The archive has {len(infos)} files; the limit is {MAX_MEMBERS}.", code="too_many_files")
    total = compressed = 0
    for info in infos:
        _check_member(info)
        total += info.file_size
        compressed += info.compress_size
        if total > max_total:
            raise ArchiveRejected(
                f"The archive unpacks to more than {max_total} bytes (possible zip bomb).", code="zip_bomb"
            )
    if total > MEMBER_RATIO_MIN_BYTES and total > MAX_TOTAL_RATIO * max(compressed, 1):
        raise ArchiveRejected(
            f"The archive unpacks to {total} bytes from {compressed} compressed: a ratio of "
            f"{total // max(compressed, 1)}:1 over all its files looks like a zip bomb (the limit is {MAX_TOTAL_RATIO}:1).",
            code="zip_bomb",
        )
    return [Member(path=_normalise(info.filename), info=info) for info in infos]


def read_member(archive: zipfile.ZipFile, member: Member, *, limit: int) -> bytes:
    """One member's bytes, refused above `limit`. Read in bounded pieces: the size the header
    declares can lie."""
    if member.size > limit:
        raise ArchiveRejected(
            f"{member.path}: {member.size} bytes is over the limit of {limit} bytes.", code="too_large"
        )
    try:
        with archive.open(member.info) as handle:
            content = handle.read(member.size + 1)
    except _DAMAGED as exc:
        raise ArchiveRejected(
            f"{member.path}: the archive member cannot be read ({exc}).", code="corrupt_member"
        ) from None
    if len(content) > member.size:
        raise ArchiveRejected(f"{member.path}: larger than its header declares (possible zip bomb).", code="zip_bomb")
    return content


def _check_member(info: zipfile.ZipInfo) -> None:
    name = info.filename
    if info.flag_bits & 0x1:
        raise ArchiveRejected(f"{name}: encrypted archive members are not supported.", code="encrypted_member")
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise ArchiveRejected(f"{name}: symbolic links are not allowed in archives.", code="symlink_in_archive")
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        raise ArchiveRejected(f"{name}: absolute paths are not allowed in archives.", code="unsafe_path")
    if ".." in name.replace("\\", "/").split("/"):
        raise ArchiveRejected(f"{name}: '..' path components are not allowed in archives.", code="unsafe_path")
    if (
        info.compress_size
        and info.file_size > MEMBER_RATIO_MIN_BYTES
        and info.file_size / info.compress_size > MAX_MEMBER_RATIO
    ):
        raise ArchiveRejected(
            f"{name}: compression ratio {info.file_size // info.compress_size}:1 looks like a zip bomb.",
            code="zip_bomb",
        )


def _normalise(name: str) -> str:
    return posixpath.normpath(name.replace("\\", "/")).lstrip("/")
