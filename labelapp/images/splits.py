"""Which split (train, val, test) a labeled image belongs to, decided from its content hash:
the same image lands in the same split on every import and in every copy of a project."""

from .models import Split


def split_for(*, sha256: str, val_fraction: float, test_fraction: float) -> str:
    """A labeled image's split, fixed by its content hash so re-imports land in the same split."""
    u = int(sha256[:8], 16) / 0xFFFFFFFF
    if u < test_fraction:
        return Split.TEST
    if u < test_fraction + val_fraction:
        return Split.VAL
    return Split.TRAIN


def evaluation_split(*, sha256: str, val_fraction: float, test_fraction: float) -> str:
    """Val or test for an evaluation pick, in the project's val:test proportion (by hash)."""
    total = val_fraction + test_fraction
    u = int(sha256[:8], 16) / 0xFFFFFFFF
    return Split.TEST if total and u < test_fraction / total else Split.VAL
