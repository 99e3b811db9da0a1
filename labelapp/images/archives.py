"""Safe reading of user-supplied ZIP archives, entirely in memory: nothing is extracted to disk.

Rejected with a clear message: absolute paths, `..` components, symbolic links, encrypted
members, too many members, a total uncompressed size over the limit, and members whose
compression ratio marks a zip bomb."""

import io
import posixpath
import stat
import zipfile
from dataclasses import dataclass

from django.conf import settings

from labelapp.core.errors import ServiceError

MAX_MEMBERS = 100_000
MAX_RATIO = 200  # uncompressed / compressed; real images compress far less than this


class ArchiveRejected(ServiceError):
    code = "archive_rejected"


@dataclass(frozen=True)
class Member:
    path: str  # normalised, relative, '/'-separated
    data: bytes


def read_zip(data: bytes, *, max_total: int | None = None) -> list[Member]:
    max_total = max_total or settings.LABELAPP_MAX_IMPORT_BYTES
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise ArchiveRejected("The file is not a ZIP archive.", code="not_a_zip") from None
    with archive:
        infos = [info for info in archive.infolist() if not info.is_dir()]
        if len(infos) > MAX_MEMBERS:
            raise ArchiveRejected(f"The archive has {len(infos)} files; the limit is {MAX_MEMBERS}.", code="too_many_files")
        total = 0
        for info in infos:
            _check_member(info)
            total += info.file_size
            if total > max_total:
                raise ArchiveRejected(
                    f"The archive unpacks to more than {max_total} bytes (possible zip bomb).", code="zip_bomb"
                )
        members = []
        for info in infos:
            # Read in bounded pieces: the declared size in the header can lie.
            with archive.open(info) as handle:
                content = handle.read(info.file_size + 1)
            if len(content) > info.file_size:
                raise ArchiveRejected(f"{info.filename}: larger than its header declares (possible zip bomb).", code="zip_bomb")
            members.append(Member(path=_normalise(info.filename), data=content))
    return members


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
    if info.compress_size and info.file_size / info.compress_size > MAX_RATIO and info.file_size > 1_000_000:
        raise ArchiveRejected(
            f"{name}: compression ratio {info.file_size // info.compress_size}:1 looks like a zip bomb.", code="zip_bomb"
        )


def _normalise(name: str) -> str:
    return posixpath.normpath(name.replace("\\", "/")).lstrip("/")
