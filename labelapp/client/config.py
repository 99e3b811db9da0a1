"""The CLI's config file: the server URL and the API token, readable by the owner only.

`$LABELAPP_CONFIG`, else `$XDG_CONFIG_HOME/labelapp/config.json`, else
`~/.config/labelapp/config.json`. Written atomically (temp file + rename) with mode 0600.
"""

from __future__ import annotations

import json
import logging
import os
import stat
from pathlib import Path

from .errors import UsageError

logger = logging.getLogger(__name__)


def default_config_path() -> Path:
    if os.environ.get("LABELAPP_CONFIG"):
        return Path(os.environ["LABELAPP_CONFIG"]).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "labelapp" / "config.json"


def load_config(path: Path | None = None) -> dict:
    path = path or default_config_path()
    try:
        text = path.read_text()
    except FileNotFoundError:
        return {}
    if os.name == "posix" and path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        logger.warning("%s holds an API token but others can read it; run: chmod 600 %s", path, path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path} is not valid JSON ({exc}); fix it or run `labelapp login` again.") from None
    if not isinstance(data, dict):
        raise UsageError(f"{path} must hold a JSON object.")
    return data


def save_config(data: dict, path: Path | None = None) -> Path:
    """Replace the config file; the temp file is created 0600, so the token is never readable
    by others, not even for a moment."""
    path = path or default_config_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            if os.name == "posix":
                os.fchmod(handle.fileno(), 0o600)
            json.dump(data, handle, indent=2, sort_keys=True)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
