"""The labeling page on the demo's generated scenes (realistic sizes and clutter)."""

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_label_page_on_demo_porch_scenes(page, live_server, login, shoot, users):
    from labelapp.demo.data import demo_project
    from labelapp.learning.scenes import PORCH_CLASSES, porch_scene

    project = demo_project(
        name="Porch packages",
        description="Doorbell-camera scenes.",
        scene=porch_scene,
        class_names=PORCH_CLASSES,
        count=3,
        free_labels=0,
        credits=5,
        seed=2026,
        users=users,
    )
    login("annotator")
    page.goto(f"{live_server.url}/projects/{project.pk}/label")
    stage = page.get_by_test_id("image-stage")
    page.wait_for_function(
        "() => { const i = document.querySelector('.stage-image'); return i && i.complete && i.naturalWidth > 0; }"
    )
    box = stage.bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.keyboard.press("1")
    page.mouse.move(cx - 90, cy - 50)
    page.mouse.down()
    page.mouse.move(cx + 40, cy + 60, steps=5)
    page.mouse.up()
    expect(page.get_by_test_id("box-count")).to_contain_text("1 box to submit")
    expect(page.get_by_test_id("reason")).to_contain_text("Not scored yet")
    shoot("label-demo-porch")
