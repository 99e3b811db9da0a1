"""`labelapp`: the command line client.

Exit codes (stable; scripts may rely on them):
    0  done
    1  the server refused something (an error answer, or files it rejected)
    2  usage: bad arguments, not logged in, a missing file
    3  offline: the server could not be reached; uploads and stream items were queued
    4  offline and the cache is full: some items were neither sent nor queued

Settings, first found wins: command-line option, environment variable, config file
(`labelapp login` writes it), default. `--url`/`LABELAPP_URL`, `--token`/`LABELAPP_TOKEN`,
`--config`/`LABELAPP_CONFIG`, `--cache-dir`/`LABELAPP_CACHE_DIR`,
`--cache-max-bytes`/`LABELAPP_CACHE_MAX_BYTES`, `--retries`/`LABELAPP_RETRIES`,
`--backoff`/`LABELAPP_BACKOFF`.
"""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import os
import sys
import time
from pathlib import Path

from .cache import DEFAULT_MAX_BYTES, OfflineCache, default_cache_dir
from .client import LabelappClient
from .config import default_config_path, load_config, save_config
from .errors import ApiError, CacheFullError, LabelappError, OfflineError, UsageError
from .http import normalize_url
from .reports import Rejection

EXIT_OK, EXIT_REFUSED, EXIT_USAGE, EXIT_OFFLINE, EXIT_CACHE_FULL = 0, 1, 2, 3, 4
SIZE_UNITS = {
    "": 1,
    "b": 1,
    "k": 1024,
    "kb": 1024,
    "m": 1024**2,
    "mb": 1024**2,
    "g": 1024**3,
    "gb": 1024**3,
    "t": 1024**4,
}

logger = logging.getLogger(__name__)


def parse_size(text: str) -> int:
    """`1048576`, `500M`, `2G`, `1.5GB` → bytes."""
    raw = str(text).strip().lower().replace(" ", "")
    number = raw.rstrip("kmgtb")
    unit = raw[len(number) :]
    try:
        value = float(number)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size (e.g. 500M, 2G, 1048576)") from None
    if unit not in SIZE_UNITS or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size (e.g. 500M, 2G, 1048576)")
    return int(value * SIZE_UNITS[unit])


def human_bytes(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"


def _out(text: str = "") -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _err(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


# --- settings -------------------------------------------------------------------------------


class Context:
    """The resolved settings of one invocation, and the client built from them on demand."""

    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.config_path = Path(getattr(args, "config", None) or default_config_path()).expanduser()
        self.config = load_config(self.config_path)
        self.quiet = getattr(args, "quiet", False)

    def setting(self, option: str, env: str, key: str, default=None):
        value = getattr(self.args, option, None)
        if value is None:
            value = os.environ.get(env) or None
        if value is None:
            value = self.config.get(key)
        return default if value is None else value

    @property
    def url(self) -> str:
        url = self.setting("url", "LABELAPP_URL", "url")
        if not url:
            raise UsageError(
                "No server URL: run `labelapp login --url http://host:8000 --username NAME`, or pass --url."
            )
        return normalize_url(url)

    def cache(self) -> OfflineCache:
        directory = self.setting("cache_dir", "LABELAPP_CACHE_DIR", "cache_dir") or default_cache_dir()
        max_bytes = self.setting("cache_max_bytes", "LABELAPP_CACHE_MAX_BYTES", "cache_max_bytes", DEFAULT_MAX_BYTES)
        try:
            max_bytes = parse_size(max_bytes) if isinstance(max_bytes, str) else int(max_bytes)
        except argparse.ArgumentTypeError as exc:
            raise UsageError(f"cache size limit: {exc}") from None
        return OfflineCache(directory, max_bytes=max_bytes)

    def client(self, *, need_token: bool = True) -> LabelappClient:
        token = self.setting("token", "LABELAPP_TOKEN", "token")
        if need_token and not token:
            raise UsageError(
                "Not logged in: run `labelapp login --url http://host:8000 --username NAME` "
                "(or pass --token / set LABELAPP_TOKEN)."
            )
        try:
            retries = int(self.setting("retries", "LABELAPP_RETRIES", "retries", 4))
            backoff = float(self.setting("backoff", "LABELAPP_BACKOFF", "backoff", 0.5))
        except ValueError:
            raise UsageError(
                "LABELAPP_RETRIES must be a whole number and LABELAPP_BACKOFF a number of seconds."
            ) from None
        return LabelappClient(
            self.url,
            token,
            cache=self.cache(),
            retries=retries,
            backoff=backoff,
            batch_size=getattr(self.args, "batch_size", None) or 16,
        )

    @property
    def progress(self) -> bool:
        return not self.quiet


# --- commands -------------------------------------------------------------------------------


def cmd_login(ctx: Context) -> int:
    args = ctx.args
    url = ctx.url
    username = args.username or input("Username: ").strip()
    password = args.password if args.password is not None else getpass.getpass(f"Password for {username}: ")
    client = ctx.client(need_token=False)
    token = client.login(username, password, token_name=args.token_name)
    config = {
        **ctx.config,
        "url": url,
        "token": token["key"],
        "token_id": token["id"],
        "token_name": token["name"],
        "username": username,
    }
    path = save_config(config, ctx.config_path)
    _err(f"Logged in to {url} as {username}; token {token['prefix']}… ({token['name']}) saved to {path}.")
    return EXIT_OK


def cmd_token(ctx: Context) -> int:
    client = ctx.client()
    if ctx.args.token_command == "create":
        token = client.create_token(ctx.args.name)
        _err(f"Token {token['id']} ({token['name']}) created. The key is shown only this once:")
        _out(token["key"])
    elif ctx.args.token_command == "list":
        tokens = client.tokens()
        if ctx.args.json:
            _out(json.dumps(tokens, indent=2))
            return EXIT_OK
        current = ctx.config.get("token_id")
        _out(f"{'ID':>5}  {'PREFIX':10} {'CREATED':20} {'LAST USED':20} NAME")
        for t in tokens:
            mark = "  (this CLI)" if t["id"] == current else ""
            _out(
                f"{t['id']:>5}  {t['prefix'] + '…':10} {(t['created_at'] or '')[:19]:20} "
                f"{(t['last_used_at'] or '-')[:19]:20} {t['name']}{mark}"
            )
    else:
        client.revoke_token(ctx.args.id)
        _err(f"Token {ctx.args.id} revoked.")
        if ctx.config.get("token_id") == ctx.args.id:
            config = {k: v for k, v in ctx.config.items() if k not in ("token", "token_id", "token_name")}
            save_config(config, ctx.config_path)
            _err(f"It was this CLI's token; removed it from {ctx.config_path}. Run `labelapp login` again.")
    return EXIT_OK


def cmd_projects(ctx: Context) -> int:
    projects = ctx.client().projects()
    if ctx.args.json:
        _out(json.dumps(projects, indent=2))
        return EXIT_OK
    _out(f"{'ID':>5}  {'TYPE':14} {'ROLE':10} {'CREDITS':>8}  NAME")
    for p in projects:
        available = (p.get("balance") or {}).get("available", "")
        _out(f"{p['id']:>5}  {p.get('task_type', ''):14} {p.get('my_role', ''):10} {available:>8}  {p['name']}")
    return EXIT_OK


def parse_class_spec(text: str) -> dict:
    """`name`, `name:#rrggbb` or `name:#rrggbb:key` (empty parts keep the server's default)."""
    name, _, rest = text.partition(":")
    color, _, hotkey = rest.partition(":")
    if not name.strip():
        raise argparse.ArgumentTypeError(f"{text!r}: a class needs a name (NAME[:#rrggbb[:KEY]])")
    spec = {"name": name.strip()}
    if color:
        spec["color"] = color
    if hotkey:
        spec["hotkey"] = hotkey
    return spec


def cmd_project(ctx: Context) -> int:
    client = ctx.client()
    if ctx.args.project_command == "create":
        project = client.create_project(
            ctx.args.name,
            ctx.args.task_type,
            classes=ctx.args.classes or [],
            budget=ctx.args.budget,
            description=ctx.args.description,
        )
    else:
        project = client.set_project_archived(ctx.args.id, ctx.args.project_command == "archive")
    if ctx.args.json:
        _out(json.dumps(project, indent=2))
        return EXIT_OK
    classes = ", ".join(
        f"{c['name']} ({c['color']}, key {c['hotkey'] or '-'})" for c in project.get("label_classes", [])
    )
    state = "archived" if project.get("archived_at") else "active"
    _out(
        f"{project['id']}  {project['name']}  {project['task_type']}  {state}  "
        f"credits {(project.get('balance') or {}).get('available', 0)}"
    )
    if classes:
        _out(f"classes: {classes}")
    return EXIT_OK


def _print_rejections(rejections: list[Rejection]) -> None:
    for r in rejections:
        _err(f"rejected: {r.path or r.name}: {r.detail} ({r.code})")


def _print_near_duplicates(client, project_id: int, image_ids: list[int], wait: float) -> None:
    """Which new images look like earlier ones. Informational: the images are stored either
    way, so a report that cannot be fetched does not fail the upload."""
    try:
        report = client.near_duplicates(project_id, image_ids, wait=max(0.0, wait))
    except LabelappError as exc:
        _err(f"near-duplicate report not available: {exc}")
        return
    if not report["available"]:
        _err("near-duplicates not checked: the server runs without the pretrained backbone.")
        return
    for found in report["near_duplicates"]:
        _err(
            f"near-duplicate: {found['name']} looks like {found['duplicate_of_name']} "
            f"(image {found['duplicate_of']}, cosine {found['similarity']:.2f})"
        )
    if report["pending"]:
        _err(
            f"{len(report['pending'])} new images are not checked for near-duplicates yet (the server's worker "
            "checks them shortly after upload); --wait-duplicates 60 waits for the report."
        )
    else:
        _err(f"{len(report['near_duplicates'])} of {report['checked']} new images look like an earlier image.")


def cmd_upload(ctx: Context) -> int:
    client = ctx.client()
    try:
        report = client.upload(
            ctx.args.project,
            ctx.args.paths,
            batch_size=ctx.args.batch_size,
            skip_confirmed=not ctx.args.force,
            progress=ctx.progress,
        )
    except ApiError as exc:
        report = getattr(exc, "report", None)
        if report is not None:
            _err(f"stopped after {len(report.created)} new and {len(report.duplicates)} known images.")
        raise
    _print_rejections(report.rejected)
    _err(
        f"{len(report.created)} new, {len(report.duplicates)} already on the server, {report.skipped} skipped "
        f"(confirmed before), {len(report.rejected)} rejected, {len(report.queued)} queued offline."
    )
    for path in report.unreadable:
        _err(f"unreadable: {path}")
    if report.created:
        _print_near_duplicates(
            client, ctx.args.project, [image["id"] for image in report.created], ctx.args.wait_duplicates
        )
    if report.not_queued:
        _err(
            f"{report.cache_error}\n{len(report.not_queued)} files were neither sent nor queued; "
            "run the same command again when the server is back."
        )
        return EXIT_CACHE_FULL
    if report.rejected or report.unreadable:
        return EXIT_REFUSED
    if report.offline:
        _err(
            f"{client.base_url} is unreachable: {len(report.queued)} files are queued in {client.cache.directory}; "
            "they are sent by `labelapp sync` or the next command."
        )
        return EXIT_OFFLINE
    return EXIT_OK


def cmd_predict(ctx: Context) -> int:
    client = ctx.client()
    try:
        result = client.predict(ctx.args.project, ctx.args.image)
    except OfflineError as exc:
        _err(f"{exc} Predictions are not queued: try again when the server is back.")
        return EXIT_OFFLINE
    _out(json.dumps(result, indent=2))
    return EXIT_OK


def cmd_stream(ctx: Context) -> int:
    client = ctx.client()
    try:
        results = client.stream_many(ctx.args.project, ctx.args.images, progress=False)
    except (ApiError, CacheFullError) as exc:
        for result in getattr(exc, "results", []):
            _out(json.dumps(_stream_line(result)))
        raise
    for result in results:
        _out(json.dumps(_stream_line(result)))
    rejected = [r.rejected for r in results if r.rejected]
    _print_rejections(rejected)
    queued = sum(r.queued for r in results)
    if rejected:
        return EXIT_REFUSED
    if queued:
        _err(f"{client.base_url} is unreachable: {queued} images are queued; `labelapp sync` sends them.")
        return EXIT_OFFLINE
    return EXIT_OK


def _stream_line(result) -> dict:
    if result.decision is not None:
        return {"file": result.path, **result.decision}
    if result.rejected is not None:
        return {"file": result.path, "rejected": {"code": result.rejected.code, "detail": result.rejected.detail}}
    return {"file": result.path, "queued": True, "sha256": result.sha256}


def cmd_export(ctx: Context) -> int:
    fmt = ctx.args.format
    out = ctx.args.output or f"project-{ctx.args.project}-{fmt}.{ {'coco': 'json', 'yolo': 'zip', 'csv': 'csv'}[fmt] }"
    path = ctx.client().export(ctx.args.project, fmt, out)
    _err(f"Exported project {ctx.args.project} ({fmt}) to {path} ({human_bytes(path.stat().st_size)}).")
    return EXIT_OK


def cmd_sync(ctx: Context) -> int:
    client = ctx.client()
    client.auto_sync = False
    started = time.monotonic()
    report = client.sync(progress=ctx.progress, batch_size=ctx.args.batch_size)
    _print_rejections(report.rejected)
    for error in report.errors:
        _err(f"error: {error}")
    _err(
        f"sent {report.sent} ({report.created} new, {report.duplicates} already on the server, "
        f"{len(report.streamed)} stream decisions), {len(report.rejected)} rejected, {report.remaining} still queued "
        f"({time.monotonic() - started:.1f}s)."
    )
    if report.other_servers:
        _err(
            f"{report.other_servers} queued items belong to other servers and were not sent here; "
            "`labelapp cache` lists them by server."
        )
    if report.offline:
        return EXIT_OFFLINE
    if report.rejected or report.errors:
        return EXIT_REFUSED
    return EXIT_OK


def cmd_cache(ctx: Context) -> int:
    cache = ctx.cache()
    if ctx.args.cache_command == "clear-rejected":
        _err(f"Forgot {cache.clear_rejected()} rejected items; they will be tried again.")
        return EXIT_OK
    if ctx.args.cache_command == "drop":
        _err(f"Dropped {cache.drop(project=ctx.args.project)} queued items without sending them.")
        return EXIT_OK
    status = cache.status()
    if ctx.args.json:
        _out(json.dumps(status.as_dict(), indent=2))
        return EXIT_OK
    _out(f"cache: {status.directory}")
    _out(
        f"queued: {status.items} items, {status.bytes} bytes ({human_bytes(status.bytes)} "
        f"of {human_bytes(status.max_bytes)})"
    )
    for kind, n in sorted(status.by_kind.items()):
        _out(f"  {kind}: {n}")
    for project, n in sorted(status.by_project.items()):
        _out(f"  project {project}: {n}")
    for server, n in sorted(status.by_server.items()):
        _out(f"  for {server or 'an unknown server (queued before servers were recorded)'}: {n}")
    if status.oldest_queued_at:
        _out(f"oldest queued: {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(status.oldest_queued_at))}")
    if status.last_error:
        _out(f"last sync error: {status.last_error}")
    _out(f"confirmed uploads remembered: {status.confirmed}")
    _out(f"rejected: {len(status.rejected)}")
    for r in status.rejected:
        _out(f"  project {r.project} {r.kind} {r.source_path or r.name}: {r.detail} ({r.code}, HTTP {r.status})")
    return EXIT_OK


# --- parser ---------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    # Global options are accepted before or after the command; SUPPRESS keeps a subcommand's
    # unset default from overwriting a value given before it.
    common = argparse.ArgumentParser(add_help=False)
    g = common.add_argument_group("global options")
    g.add_argument("--url", default=argparse.SUPPRESS, help="server, e.g. http://127.0.0.1:8000 (env LABELAPP_URL)")
    g.add_argument("--token", default=argparse.SUPPRESS, help="API token (env LABELAPP_TOKEN)")
    g.add_argument(
        "--config",
        default=argparse.SUPPRESS,
        help="config file (env LABELAPP_CONFIG; default ~/.config/labelapp/config.json)",
    )
    g.add_argument(
        "--cache-dir",
        default=argparse.SUPPRESS,
        help="offline cache (env LABELAPP_CACHE_DIR; default ~/.cache/labelapp)",
    )
    g.add_argument(
        "--cache-max-bytes",
        type=parse_size,
        default=argparse.SUPPRESS,
        help="offline cache size limit, e.g. 500M (env LABELAPP_CACHE_MAX_BYTES; default 2G)",
    )
    g.add_argument(
        "--retries", type=int, default=argparse.SUPPRESS, help="retries per request (env LABELAPP_RETRIES; default 4)"
    )
    g.add_argument(
        "--backoff",
        type=float,
        default=argparse.SUPPRESS,
        help="first retry delay in seconds, doubled each time (default 0.5)",
    )
    g.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS, help="no progress bars")
    g.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help="log each retry")

    parser = argparse.ArgumentParser(
        prog="labelapp",
        parents=[common],
        description="The labelapp command line client.",
        epilog="Exit codes: 0 ok, 1 refused by the server, 2 usage, 3 offline (queued), "
        "4 offline and the cache is full.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, parents=[common], help=help_text, description=help_text)

    p = command("login", "sign in and store the server URL and a new API token in the config file")
    p.add_argument("--username", "-u")
    p.add_argument("--password", help="default: prompt (safer: it stays out of the shell history)")
    p.add_argument("--token-name", help="name of the token to create (default: 'labelapp CLI on <host>')")
    p.set_defaults(handler=cmd_login)

    p = command("token", "create, list or revoke API tokens")
    token_sub = p.add_subparsers(dest="token_command", required=True, metavar="ACTION")
    t = token_sub.add_parser("create", parents=[common], help="create a token (its key is printed once)")
    t.add_argument("name")
    t = token_sub.add_parser("list", parents=[common], help="list my tokens")
    t.add_argument("--json", action="store_true")
    t = token_sub.add_parser("revoke", parents=[common], help="revoke a token by id")
    t.add_argument("id", type=int)
    p.set_defaults(handler=cmd_token)

    p = command("projects", "list the projects I am a member of")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_projects)

    p = command("project", "create, archive or restore a project")
    project_sub = p.add_subparsers(dest="project_command", required=True, metavar="ACTION")
    c = project_sub.add_parser("create", parents=[common], help="create a project; you become its admin")
    c.add_argument("name")
    c.add_argument("--type", "-t", dest="task_type", choices=["classification", "detection"], required=True)
    c.add_argument(
        "--class",
        "-c",
        dest="classes",
        action="append",
        type=parse_class_spec,
        metavar="NAME[:#RRGGBB[:KEY]]",
        help="a label class; repeat for each (default colour: the one named in the class name, else a distinct one)",
    )
    c.add_argument("--budget", type=int, default=0, help="credits granted at once (default 0)")
    c.add_argument("--description", default="")
    c.add_argument("--json", action="store_true")
    for action, help_text in (
        ("archive", "hide a project from the default list (nothing is deleted)"),
        ("restore", "bring an archived project back"),
    ):
        a = project_sub.add_parser(action, parents=[common], help=help_text)
        a.add_argument("id", type=int)
        a.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_project)

    p = command("upload", "upload images and folders of images (resumable; queued when offline)")
    p.add_argument("--project", "-p", type=int, required=True)
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--batch-size", type=int, default=16, help="files per request (default 16)")
    p.add_argument("--force", action="store_true", help="also send files confirmed before (the server dedups them)")
    p.add_argument(
        "--wait-duplicates",
        type=float,
        default=0,
        metavar="SECONDS",
        help="wait up to this long for the server's near-duplicate check of the new images (default 0: "
        "report what is checked already)",
    )
    p.set_defaults(handler=cmd_upload)

    p = command("predict", "run the project's active model on an image; prints JSON")
    p.add_argument("--project", "-p", type=int, required=True)
    p.add_argument("image")
    p.set_defaults(handler=cmd_predict)

    p = command("stream", "send images to the project's stream sampler; prints one JSON line each")
    p.add_argument("--project", "-p", type=int, required=True)
    p.add_argument("images", nargs="+", metavar="IMAGE")
    p.set_defaults(handler=cmd_stream)

    p = command("export", "download the labels as COCO JSON, a YOLO ZIP or CSV")
    p.add_argument("--project", "-p", type=int, required=True)
    p.add_argument("--format", "-f", choices=["coco", "yolo", "csv"], default="coco")
    p.add_argument("--output", "-o", help="file to write (default project-<id>-<format>.<ext>)")
    p.set_defaults(handler=cmd_export)

    p = command("sync", "send what the offline cache holds")
    p.add_argument("--batch-size", type=int, default=16, help="uploads per request (default 16)")
    p.set_defaults(handler=cmd_sync)

    p = command("cache", "inspect the offline cache")
    cache_sub = p.add_subparsers(dest="cache_command", required=True, metavar="ACTION")
    c = cache_sub.add_parser("status", parents=[common], help="items and bytes queued, and the rejected list")
    c.add_argument("--json", action="store_true")
    cache_sub.add_parser("clear-rejected", parents=[common], help="forget the rejected list (they will be tried again)")
    c = cache_sub.add_parser("drop", parents=[common], help="discard queued items without sending them")
    c.add_argument("--project", type=int)
    p.set_defaults(handler=cmd_cache)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    for name in ("url", "token", "config", "cache_dir", "cache_max_bytes", "retries", "backoff"):
        if not hasattr(args, name):
            setattr(args, name, None)
    args.quiet = getattr(args, "quiet", False)
    logging.basicConfig(
        level=logging.INFO if getattr(args, "verbose", False) else logging.WARNING,
        format="labelapp: %(message)s",
        stream=sys.stderr,
    )
    try:
        ctx = Context(args)
        return args.handler(ctx)
    except UsageError as exc:
        _err(f"error: {exc}")
        return EXIT_USAGE
    except CacheFullError as exc:
        _err(f"error: {exc}")
        return EXIT_CACHE_FULL
    except OfflineError as exc:
        _err(f"error: {exc}")
        return EXIT_OFFLINE
    except ApiError as exc:
        _err(f"error: {exc.detail} ({exc.code}, HTTP {exc.status})")
        for e in exc.errors:
            if isinstance(e, dict):
                _err(f"  {e.get('file', '')}: {e.get('detail', '')} ({e.get('code', '')})")
        return EXIT_REFUSED
    except LabelappError as exc:
        _err(f"error: {exc}")
        return EXIT_REFUSED
    except KeyboardInterrupt:
        _err("interrupted; run the same command again to continue where it stopped.")
        return 130


if __name__ == "__main__":
    sys.exit(main())
