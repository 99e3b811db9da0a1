"""The Python client and `labelapp` CLI against a real server (pytest-django's `live_server`):
real HTTP, real multipart, real offline cache on disk, and a real `labelapp sync` process
killed with SIGKILL in the middle of its work."""

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from labelapp.accounts.models import ApiToken
from labelapp.client import (
    ApiError,
    CacheFullError,
    ConflictError,
    LabelappClient,
    OfflineCache,
    OfflineError,
)
from labelapp.client.cli import main
from labelapp.client.http import normalize_url
from labelapp.images.models import Image
from tests.client.conftest import cli
from tests.conftest import jpeg_bytes

pytestmark = pytest.mark.django_db(transaction=True)

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def closed_port():
    """A local URL nothing listens on: connections are refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


class SwitchableProxy:
    """A TCP proxy on a fixed local port in front of the live server: `down()` stops
    listening (connections are refused, as when the server is unreachable), `up()` listens
    again on the same port. The client sees one server URL go away and come back."""

    def __init__(self, target_port: int):
        self.target_port = target_port
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.listener = None

    def up(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def down(self) -> None:
        if self.listener is not None:
            self.listener.close()
            self.listener = None

    def _accept(self, listener) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source, sink) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


@pytest.fixture
def flaky(server):
    """The live server behind a proxy that starts down: queue offline, then `flaky.up()`."""
    from urllib.parse import urlparse

    proxy = SwitchableProxy(urlparse(server).port)
    yield proxy
    proxy.down()


@pytest.fixture
def cache_dir(tmp_path):
    return tmp_path / "cache"


def make_client(url, token, cache_dir, **kwargs):
    kwargs.setdefault("retries", 1)
    kwargs.setdefault("backoff", 0.01)
    return LabelappClient(url, token, cache_dir=cache_dir, **kwargs)


def write_images(folder: Path, seeds, *, nested: bool = True) -> list[Path]:
    paths = []
    for i in seeds:
        sub = folder / (f"part{i % 3}" if nested else "")
        sub.mkdir(parents=True, exist_ok=True)
        path = sub / f"img{i:03}.jpg"
        path.write_bytes(jpeg_bytes(i))
        paths.append(path)
    return paths


def stored(project) -> tuple[int, int]:
    images = Image.objects.filter(project=project)
    return images.count(), images.values("sha256").distinct().count()


# --- upload ---------------------------------------------------------------------------------


def test_folder_upload_shows_progress_and_a_rerun_sends_nothing(
    server, token, detection_project, cache_dir, tmp_path, capsys
):
    folder = tmp_path / "photos"
    paths = write_images(folder, range(12))
    (folder / "notes.txt").write_text("not an image, and not named like one: skipped by the walk")
    (folder / ".hidden.jpg").write_bytes(jpeg_bytes(99))
    client = make_client(server, token, cache_dir)

    # An earlier run that stopped after a few files (Ctrl-C): those are confirmed already.
    first = client.upload(detection_project.pk, paths[:4])
    assert len(first.created) == 4

    report = client.upload(detection_project.pk, [folder], batch_size=5, progress=True)
    assert (len(report.created), len(report.duplicates), report.skipped) == (8, 0, 4)
    assert report.rejected == [] and report.queued == [] and not report.offline
    assert "12/12" in capsys.readouterr().err
    assert stored(detection_project) == (12, 12)

    again = client.upload(detection_project.pk, [folder], progress=True)
    assert (again.created, again.duplicates, again.skipped) == ([], [], 12)
    assert stored(detection_project) == (12, 12)

    # --force sends everything again; the server answers "duplicate" for each.
    assert (
        cli(
            "upload",
            "--project",
            detection_project.pk,
            "--force",
            "-q",
            folder,
            url=server,
            token=token,
            cache_dir=cache_dir,
        )
        == 0
    )
    assert "0 new, 12 already on the server" in capsys.readouterr().err
    assert stored(detection_project) == (12, 12)


def test_a_bad_file_in_a_batch_is_rejected_with_the_servers_reason_and_the_rest_is_stored(
    server, token, detection_project, cache_dir, tmp_path, capsys
):
    folder = tmp_path / "mixed"
    write_images(folder, range(5), nested=False)
    (folder / "broken.jpg").write_bytes(b"this is not a JPEG")
    client = make_client(server, token, cache_dir)

    report = client.upload(detection_project.pk, [folder], batch_size=10)
    assert len(report.created) == 5
    [rejection] = report.rejected
    assert (rejection.name, rejection.status, rejection.code) == ("broken.jpg", 400, "not_an_image")
    assert "not an image" in rejection.detail
    assert stored(detection_project) == (5, 5)
    [listed] = client.cache.status().rejected
    assert (listed.name, listed.code) == ("broken.jpg", "not_an_image")

    # Not retried forever: the next run skips it (and exits 0: nothing new was refused).
    assert cli("upload", "-p", detection_project.pk, "-q", folder, url=server, token=token, cache_dir=cache_dir) == 0
    assert "6 skipped" in capsys.readouterr().err


# --- offline cache --------------------------------------------------------------------------


def test_offline_uploads_are_queued_then_synced_once(
    server, token, detection_project, cache_dir, tmp_path, flaky, capsys
):
    folder = tmp_path / "field"
    write_images(folder, range(10))
    (folder / "bad.png").write_bytes(b"\x89PNG but truncated")

    assert cli("upload", "-p", detection_project.pk, "-q", folder, url=flaky.url, token=token, cache_dir=cache_dir) == 3
    assert "11 queued offline" in capsys.readouterr().err
    # The same folder again while still offline queues nothing twice.
    assert cli("upload", "-p", detection_project.pk, "-q", folder, url=flaky.url, token=token, cache_dir=cache_dir) == 3
    cache = OfflineCache(cache_dir)
    status = cache.status()
    assert status.items == 11
    assert status.bytes == sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    # The queue holds copies: the originals may move.
    (folder / "part0").rename(tmp_path / "moved")

    assert cli("cache", "status", cache_dir=cache_dir) == 0
    out = capsys.readouterr().out
    assert "queued: 11 items" in out and f"{status.bytes} bytes" in out

    assert stored(detection_project) == (0, 0)
    flaky.up()
    assert cli("sync", "-q", url=flaky.url, token=token, cache_dir=cache_dir) == 1  # 1: the bad file was refused
    err = capsys.readouterr().err
    assert "sent 10 (10 new" in err and "1 rejected" in err and "0 still queued" in err
    assert stored(detection_project) == (10, 10)
    assert cache.count() == 0
    assert not any(p.is_file() for p in (cache_dir / "blobs").rglob("*")), "blobs are freed once confirmed"
    [rejected] = cache.rejected()
    assert (rejected.name, rejected.status) == ("bad.png", 400)
    assert rejected.code in {"not_an_image", "corrupt_image"} and rejected.detail.startswith("bad.png: ")

    assert cli("cache", "status", cache_dir=cache_dir) == 0
    out = capsys.readouterr().out
    assert "queued: 0 items, 0 bytes" in out and "bad.png" in out and rejected.detail in out

    # Back online, the upload finds everything confirmed.
    assert (
        cli(
            "upload",
            "-p",
            detection_project.pk,
            "-q",
            tmp_path / "moved",
            folder,
            url=flaky.url,
            token=token,
            cache_dir=cache_dir,
        )
        == 0
    )
    assert "0 new, 0 already on the server, 11 skipped" in capsys.readouterr().err


def test_the_queue_syncs_automatically_at_the_start_of_the_next_call(
    server, token, detection_project, cache_dir, tmp_path, flaky
):
    paths = write_images(tmp_path / "a", range(3), nested=False)
    offline = make_client(flaky.url, token, cache_dir)
    assert offline.upload(detection_project.pk, paths).offline
    assert OfflineCache(cache_dir).count() == 3

    flaky.up()
    online = make_client(flaky.url, token, cache_dir)
    assert [p["id"] for p in online.projects()] == [detection_project.pk]
    assert OfflineCache(cache_dir).count() == 0
    assert stored(detection_project) == (3, 3)


def test_item11_queued_items_are_sent_only_to_the_server_they_were_queued_for(
    server, token, detection_project, cache_dir, tmp_path, closed_port, capsys
):
    """Items queued while pointed at one server were sent by a later `labelapp sync` to
    another (issue 14 item 11): they remember their server and wait for it."""
    paths = write_images(tmp_path / "a", range(3), nested=False)
    assert make_client(closed_port, token, cache_dir).upload(detection_project.pk, paths).offline
    cache = OfflineCache(cache_dir)
    assert cache.count(server=normalize_url(closed_port)) == 3

    # Pointed at another server (where the same project id exists), nothing is sent.
    other = make_client(server, token, cache_dir)
    report = other.sync()
    assert (report.sent, report.remaining, report.other_servers) == (0, 0, 3)
    assert [p["id"] for p in other.projects()] == [detection_project.pk]  # the automatic sync sends nothing either
    assert cli("sync", "-q", url=server, token=token, cache_dir=cache_dir) == 0
    assert "3 queued items belong to other servers" in capsys.readouterr().err
    assert stored(detection_project) == (0, 0) and cache.count() == 3
    assert cli("cache", "status", cache_dir=cache_dir) == 0
    assert f"for {normalize_url(closed_port)}: 3" in capsys.readouterr().out


def test_item11_a_version_1_cache_keeps_its_items_but_sends_them_nowhere(server, token, detection_project, cache_dir):
    import sqlite3

    cache_dir.mkdir(parents=True)
    conn = sqlite3.connect(cache_dir / "cache.sqlite3")
    conn.executescript("""
        CREATE TABLE queue (id INTEGER PRIMARY KEY AUTOINCREMENT, project INTEGER NOT NULL, kind TEXT NOT NULL,
            sha256 TEXT NOT NULL, name TEXT NOT NULL, source_path TEXT NOT NULL DEFAULT '', size INTEGER NOT NULL,
            queued_at REAL NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT NOT NULL DEFAULT '',
            UNIQUE (project, kind, sha256));
        INSERT INTO queue (project, kind, sha256, name, size, queued_at) VALUES (1, 'upload', 'ab', 'old.jpg', 3, 0);
    """)
    conn.close()
    cache = OfflineCache(cache_dir)
    [item] = cache.items()
    assert (item.server, item.name) == ("", "old.jpg")
    report = make_client(server, token, cache_dir).sync()
    assert (report.sent, report.other_servers) == (0, 1) and stored(detection_project) == (0, 0)


def test_the_cache_is_bounded(server, token, detection_project, cache_dir, tmp_path, flaky, capsys):
    paths = write_images(tmp_path / "big", range(6), nested=False)
    sizes = [p.stat().st_size for p in paths]
    limit = sizes[0] + sizes[1] + sizes[2] // 2  # room for two images, not three

    cache = OfflineCache(cache_dir, max_bytes=limit)
    cache.enqueue(
        server="http://testserver", project=detection_project.pk, kind="upload", path=paths[0], name=paths[0].name
    )
    cache.enqueue(
        server="http://testserver", project=detection_project.pk, kind="upload", path=paths[1], name=paths[1].name
    )
    with pytest.raises(CacheFullError, match="offline cache is full"):
        cache.enqueue(
            server="http://testserver", project=detection_project.pk, kind="upload", path=paths[2], name=paths[2].name
        )
    # The same content for the stream shares the blob: no new bytes, so it fits.
    cache.enqueue(
        server="http://testserver", project=detection_project.pk, kind="stream", path=paths[0], name=paths[0].name
    )
    assert cache.status().bytes == sizes[0] + sizes[1]
    assert not list((cache_dir / "blobs" / "tmp").iterdir()), "a refused copy leaves nothing behind"

    code = cli(
        "--cache-max-bytes",
        limit,
        "upload",
        "-p",
        detection_project.pk,
        "-q",
        *paths,
        url=flaky.url,
        token=token,
        cache_dir=cache_dir,
    )
    assert code == 4
    err = capsys.readouterr().err
    assert "offline cache is full" in err and "4 files were neither sent nor queued" in err
    assert cache.status().bytes <= limit

    # Once synced, the cache has room again.
    cache.drop(project=None)
    assert (
        cli(
            "--cache-max-bytes",
            limit,
            "upload",
            "-p",
            detection_project.pk,
            "-q",
            *paths[:2],
            url=flaky.url,
            token=token,
            cache_dir=cache_dir,
        )
        == 3
    )
    flaky.up()
    assert cli("sync", "-q", url=flaky.url, token=token, cache_dir=cache_dir) == 0
    assert cache.status().bytes == 0


def test_stream_items_queue_offline_and_a_fixable_refusal_keeps_them_queued(
    server, token, detection_project, cache_dir, tmp_path, flaky, capsys
):
    paths = write_images(tmp_path / "cam", range(2), nested=False)
    assert cli("stream", "-p", detection_project.pk, *paths, url=flaky.url, token=token, cache_dir=cache_dir) == 3
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["queued"] for line in lines] == [True, True]

    # The project has no trained model yet: 409 no_active_model may succeed later, so the
    # items stay queued (not rejected) and the reason is shown.
    flaky.up()
    assert cli("sync", "-q", url=flaky.url, token=token, cache_dir=cache_dir) == 1
    assert "no_active_model" in capsys.readouterr().err
    status = OfflineCache(cache_dir).status()
    assert status.by_kind == {"stream": 2} and status.rejected == []
    assert "no_active_model" in status.last_error


# --- the key test: a sync killed with SIGKILL -------------------------------------------------


def test_a_sync_killed_mid_way_loses_nothing_and_stores_nothing_twice(
    server, token, detection_project, cache_dir, monkeypatch
):
    """40 queued images; `labelapp sync` (a real process, one image per request) is killed with
    SIGKILL right after the server committed the 10th image and before the client heard back:
    the worst moment, where the server has the image and the queue still holds it. The
    restarted sync sends it again, the server answers "duplicate", and every image ends up
    stored exactly once."""
    total = 40
    cache = OfflineCache(cache_dir)
    expected = {
        cache.enqueue(
            server=normalize_url(server),
            project=detection_project.pk,
            kind="upload",
            data=jpeg_bytes(1000 + i),
            name=f"frame{i:02}.jpg",
        )[0]
        for i in range(total)
    }
    assert cache.count() == total and len(expected) == total

    # Hold the 10th answer back after its commit (a slow network), so the kill lands there.
    from labelapp.images import services

    real_ingest = services.images_ingest
    calls = {"n": 0}
    holding = threading.Event()

    def slow_tenth(**kwargs):
        result = real_ingest(**kwargs)
        calls["n"] += 1
        if calls["n"] == 10:
            holding.set()
            time.sleep(3)
        return result

    monkeypatch.setattr(services, "images_ingest", slow_tenth)
    env = {**os.environ, "LABELAPP_CONFIG": str(cache_dir.parent / "no-config.json"), "PYTHONPATH": str(REPO)}
    command = [
        sys.executable,
        "-m",
        "labelapp.client.cli",
        "--url",
        server,
        "--token",
        token,
        "--cache-dir",
        str(cache_dir),
        "-q",
        "sync",
        "--batch-size",
        "1",
    ]

    first = subprocess.Popen(command, env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        if not holding.wait(timeout=60):
            first.kill()
            raise AssertionError(f"the sync never reached the 10th image: {first.communicate()}")
        in_server = Image.objects.filter(project=detection_project).count()
        assert 0 < in_server < total
        first.send_signal(signal.SIGKILL)
        assert first.wait(timeout=10) == -signal.SIGKILL
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    first.stdout.close()
    first.stderr.close()

    queued_after_kill = OfflineCache(cache_dir).count()
    assert queued_after_kill == total - in_server + 1, "the image committed on the server is still queued"

    second = subprocess.run(command, env=env, cwd=REPO, capture_output=True, text=True, timeout=60)
    assert second.returncode == 0, second.stderr
    assert f"sent {queued_after_kill} ({queued_after_kill - 1} new, 1 already on the server" in second.stderr

    count, distinct = stored(detection_project)
    assert (count, distinct) == (total, total)
    assert set(Image.objects.filter(project=detection_project).values_list("sha256", flat=True)) == expected
    after = OfflineCache(cache_dir)
    assert after.count() == 0 and after.status().bytes == 0 and after.rejected() == []
    assert after.status().confirmed == total


# --- accounts, tokens, projects, export, predict ---------------------------------------------


def test_login_stores_a_private_config_and_the_token_works(server, users, detection_project, tmp_path, capsys):
    config = Path(os.environ["LABELAPP_CONFIG"])
    assert main(["login", "--url", server + "/", "--username", "admin", "--password", "wrong"]) == 1
    assert "Wrong username or password. (bad_credentials, HTTP 400)" in capsys.readouterr().err
    assert not config.exists()

    assert (
        main(
            ["login", "--url", server + "/", "--username", "admin", "--password", "pw-admin", "--token-name", "laptop"]
        )
        == 0
    )
    saved = json.loads(config.read_text())
    assert saved["url"] == server and saved["token_name"] == "laptop"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert ApiToken.objects.get(pk=saved["token_id"]).user == users["admin"]
    capsys.readouterr()

    assert main(["projects"]) == 0
    out = capsys.readouterr().out
    assert "Porch" in out and "admin" in out and "Elsewhere" not in out

    assert main(["token", "create", "ci"]) == 0
    key = capsys.readouterr().out.strip()
    assert LabelappClient(server, key).me()["username"] == "admin"
    assert main(["token", "list", "--json"]) == 0
    names = {t["name"] for t in json.loads(capsys.readouterr().out)}
    assert names == {"laptop", "ci"}

    ci_id = ApiToken.objects.get(name="ci").pk
    assert main(["token", "revoke", str(ci_id)]) == 0
    with pytest.raises(ApiError) as refused:
        LabelappClient(server, key).me()
    assert refused.value.status == 401

    assert main(["token", "revoke", str(saved["token_id"])]) == 0
    assert "token" not in json.loads(config.read_text())
    assert main(["projects"]) == 2  # not logged in any more: a usage error
    assert "Not logged in" in capsys.readouterr().err


def test_export_writes_the_file_and_predict_reports_the_servers_reason(
    server, token, detection_project, cache_dir, tmp_path, capsys
):
    paths = write_images(tmp_path / "e", range(2), nested=False)
    client = make_client(server, token, cache_dir)
    client.upload(detection_project.pk, paths)

    out = tmp_path / "out" / "coco.json"
    assert (
        cli(
            "export",
            "--project",
            detection_project.pk,
            "--format",
            "coco",
            "-o",
            out,
            url=server,
            token=token,
            cache_dir=cache_dir,
        )
        == 0
    )
    coco = json.loads(out.read_text())
    assert {"images", "annotations", "categories"} <= set(coco)
    assert (
        client.export(detection_project.pk, "csv", tmp_path / "labels.csv").read_text().startswith("image_id,file_name")
    )

    with pytest.raises(ConflictError) as no_model:
        client.predict(detection_project.pk, paths[0])
    assert no_model.value.code == "no_active_model" and no_model.value.detail
    assert (
        cli("predict", "--project", detection_project.pk, paths[0], url=server, token=token, cache_dir=cache_dir) == 1
    )
    assert "(no_active_model, HTTP 409)" in capsys.readouterr().err

    assert (
        cli(
            "predict",
            "--project",
            detection_project.pk,
            paths[0],
            url=server.rsplit(":", 1)[0] + ":9",
            token=token,
            cache_dir=cache_dir,
        )
        == 3
    )
    assert (
        cli(
            "predict",
            "--project",
            detection_project.pk,
            tmp_path / "missing.jpg",
            url=server,
            token=token,
            cache_dir=cache_dir,
        )
        == 2
    )


def test_a_project_the_user_cannot_write_to_keeps_queued_items(
    server, users, detection_project, cache_dir, tmp_path, flaky
):
    verifier_token = ApiToken.issue(user=users["verifier"], name="v")[1]
    paths = write_images(tmp_path / "v", range(2), nested=False)
    assert make_client(flaky.url, verifier_token, cache_dir).upload(detection_project.pk, paths).offline
    flaky.up()
    report = make_client(flaky.url, verifier_token, cache_dir).sync()
    assert report.remaining == 2 and report.rejected == [] and "HTTP 403" in report.errors[0]


# --- retries (no server needed) ---------------------------------------------------------------


class _FlakySession:
    """Answers each request with the next status (then 200); records the calls."""

    def __init__(self, statuses, *, retry_after=None):
        import requests

        self.statuses = list(statuses)
        self.calls = 0
        self.headers = {}
        self._requests = requests
        self.retry_after = retry_after

    def request(self, method, url, **kwargs):
        self.calls += 1
        status = self.statuses.pop(0) if self.statuses else 200
        if status == "refused":
            raise self._requests.ConnectionError("refused")
        response = self._requests.Response()
        response.status_code = status
        response._content_consumed = True
        response._content = json.dumps({"ok": True} if status == 200 else {"detail": "busy", "code": "busy"}).encode()
        if self.retry_after and status == 429:
            response.headers["Retry-After"] = self.retry_after
        return response


def test_retries_back_off_exponentially_with_jitter(tmp_path):
    sleeps = []
    session = _FlakySession(["refused", 503, 500, 429])
    client = LabelappClient(
        "http://example.invalid", "t", cache_dir=tmp_path, retries=5, backoff=1.0, session=session, sleep=sleeps.append
    )
    assert client.me() == {"ok": True}
    assert session.calls == 5
    for attempt, delay in enumerate(sleeps):
        assert 2**attempt / 2 <= delay <= 2**attempt

    gone = LabelappClient(
        "http://example.invalid",
        "t",
        cache_dir=tmp_path,
        retries=2,
        backoff=0.1,
        session=_FlakySession(["refused"] * 5),
        sleep=lambda s: None,
    )
    with pytest.raises(OfflineError):
        gone.me()
    broken = LabelappClient(
        "http://example.invalid",
        "t",
        cache_dir=tmp_path,
        retries=1,
        backoff=0.1,
        session=_FlakySession([500, 500]),
        sleep=lambda s: None,
    )
    with pytest.raises(ApiError) as error:
        broken.me()
    assert (error.value.status, error.value.detail) == (500, "busy")
    waited = []
    LabelappClient(
        "http://example.invalid",
        "t",
        cache_dir=tmp_path,
        retries=1,
        backoff=0.1,
        session=_FlakySession([429], retry_after="7"),
        sleep=waited.append,
    ).me()
    assert waited == [7.0]


def test_the_client_imports_without_django():
    """It runs on users' machines with only requests and tqdm."""
    code = (
        "import sys, labelapp.client, labelapp.client.cli; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'django', 'rest_framework', 'celery', 'torch', 'numpy', 'PIL'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "[]"


def test_project_create_archive_and_restore_from_the_cli(server, token, cache_dir, users, capsys):
    from labelapp.projects.models import Project

    assert (
        cli(
            "project",
            "create",
            "Shelf",
            "--type",
            "detection",
            "--class",
            "can",
            "--class",
            "yellow_lid::7",
            "--class",
            "jar:#123456",
            "--budget",
            "40",
            "--json",
            url=server,
            token=token,
            cache_dir=cache_dir,
        )
        == 0
    )
    created = json.loads(capsys.readouterr().out)
    project = Project.objects.get(pk=created["id"])
    assert project.memberships.get().user == users["admin"]
    assert [(c.name, c.color, c.hotkey) for c in project.label_classes.all()] == [
        ("can", "#e6194b", "1"),
        ("yellow_lid", "#ffe119", "7"),
        ("jar", "#123456", "2"),
    ]
    assert created["balance"]["available"] == 40

    assert cli("project", "archive", project.pk, url=server, token=token, cache_dir=cache_dir) == 0
    assert "archived" in capsys.readouterr().out
    assert Project.objects.get(pk=project.pk).archived_at is not None
    assert cli("project", "restore", project.pk, url=server, token=token, cache_dir=cache_dir) == 0
    assert Project.objects.get(pk=project.pk).archived_at is None

    # A bad request names the field; nothing is created.
    assert (
        cli(
            "project",
            "create",
            "Bad",
            "--type",
            "detection",
            "--class",
            "a",
            "--class",
            "a",
            url=server,
            token=token,
            cache_dir=cache_dir,
        )
        == 1
    )
    assert "classes" in capsys.readouterr().err
    assert not Project.objects.filter(name="Bad").exists()

    # A key other than 1-9 gets the API's message at its field, as in the browser.
    assert (
        cli(
            "project",
            "create",
            "Bad",
            "--type",
            "detection",
            "--class",
            "parcel:#123456:s",
            url=server,
            token=token,
            cache_dir=cache_dir,
        )
        == 1
    )
    assert "classes.0.hotkey: A class key is one digit from 1 to 9" in capsys.readouterr().err
    assert not Project.objects.filter(name="Bad").exists()
