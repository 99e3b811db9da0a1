"""The README's API walk-through, run as written against a live server (only the address
changes): it used to annotate the fixed image ids 812 and 813, which fail on any other pool."""

import re
import subprocess
from pathlib import Path

import pytest

from labelapp.accounts.models import User
from labelapp.labeling.models import Annotation
from labelapp.projects.models import Project
from tests.conftest import jpeg_bytes

pytestmark = pytest.mark.django_db(transaction=True)

README = Path(__file__).resolve().parents[2] / "README.md"


def api_walkthrough() -> str:
    text = README.read_text()
    section = text[text.index("\n## API\n") :]
    return re.search(r"```sh\n(.*?)```", section, re.S).group(1)


def test_the_api_walkthrough_runs_as_written(live_server, settings, tmp_path):
    settings.ALLOWED_HOSTS = ["*"]
    User.objects.create_user(username="admin", password="labelapp-admin")
    (tmp_path / "a.jpg").write_bytes(jpeg_bytes(1))
    (tmp_path / "b.png").write_bytes(jpeg_bytes(2, fmt="PNG"))
    script = api_walkthrough().replace("http://127.0.0.1:8000", live_server.url)

    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )

    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    project = Project.objects.get(name="Shelf")
    assert project.archived_at is None  # archived, then restored
    assert project.credit_balance.granted == 1000
    assert [c.name for c in project.label_classes.all()] == ["tin_can", "bottle"]
    annotation = Annotation.objects.get(project=project)
    assert annotation.boxes[0]["label_class"] == project.label_classes.get(name="tin_can").pk
    assert project.images.filter(status="skipped").count() + project.images.filter(status="unlabeled").count() == 1
    assert '"detail"' not in done.stdout, done.stdout
