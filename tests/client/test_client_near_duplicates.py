"""The CLI tells the uploader which new images look like earlier ones (a real server, real JPEGs)."""

import re

import pytest
from PIL import ImageEnhance

from labelapp.images.models import Image
from labelapp.learning.backbone import default_weights_path
from labelapp.training.preprocess import images_preprocess
from tests.client.conftest import cli
from tests.conftest import BEACH, PORCH, jpeg

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(default_weights_path() is None, reason="backbone weights package not installed"),
    pytest.mark.usefixtures("fresh_engine"),
]


def test_upload_prints_the_near_duplicates_the_worker_found(server, token, classification_project, tmp_path, capsys):
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir(), second.mkdir()
    (first / "img_3.jpg").write_bytes(jpeg(PORCH))
    (second / "img_7.jpg").write_bytes(jpeg(ImageEnhance.Brightness(PORCH).enhance(1.08), quality=80))
    (second / "beach.jpg").write_bytes(jpeg(BEACH))
    cache = tmp_path / "cache"

    assert cli("upload", "-p", classification_project.pk, "-q", first, url=server, token=token, cache_dir=cache) == 0
    # No worker runs in tests: nothing is checked yet, and the CLI says so without waiting.
    assert "1 new images are not checked for near-duplicates yet" in capsys.readouterr().err
    images_preprocess(
        project_id=classification_project.pk,
        image_ids=list(Image.objects.filter(project=classification_project).values_list("pk", flat=True)),
    )

    assert cli("upload", "-p", classification_project.pk, "-q", second, url=server, token=token, cache_dir=cache) == 0
    assert "not checked for near-duplicates yet" in capsys.readouterr().err
    images_preprocess(
        project_id=classification_project.pk,
        image_ids=list(
            Image.objects.filter(project=classification_project, duplicates_checked_at=None).values_list(
                "pk", flat=True
            )
        ),
    )

    from labelapp.client.client import LabelappClient

    client = LabelappClient(server, token, cache_dir=cache)
    new_ids = Image.objects.filter(project=classification_project, original_name__in=["img_7.jpg", "beach.jpg"])
    report = client.near_duplicates(classification_project.pk, new_ids.values_list("pk", flat=True))
    [found] = report["near_duplicates"]
    assert (found["name"], found["duplicate_of_name"], report["pending"]) == ("img_7.jpg", "img_3.jpg", [])

    # What the CLI prints once the check has run.
    third = tmp_path / "third"
    third.mkdir()
    (third / "img_9.jpg").write_bytes(jpeg(ImageEnhance.Brightness(PORCH).enhance(0.93), quality=85))
    assert cli("upload", "-p", classification_project.pk, "-q", third, url=server, token=token, cache_dir=cache) == 0
    capsys.readouterr()
    [img_9] = Image.objects.filter(project=classification_project, original_name="img_9.jpg")
    images_preprocess(project_id=classification_project.pk, image_ids=[img_9.pk])
    from labelapp.client.cli import _print_near_duplicates

    _print_near_duplicates(client, classification_project.pk, [img_9.pk], wait=0)
    # Its nearest earlier image is one of the two porch copies.
    assert re.search(
        r"near-duplicate: img_9\.jpg looks like img_[37]\.jpg \(image \d+, cosine 0\.9\d\)", capsys.readouterr().err
    )
