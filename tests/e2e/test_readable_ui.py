"""Issue 15 audit fixes in a real browser: a light class (white_envelope) reads on the image,
in the box list and in the box-size chart; the settings offer every strategy that fits the
task, adaptive (the default) included, and the review settings; class keys take only 1-9."""

import re

import pytest
from playwright.sync_api import expect

from labelapp.labeling.models import Annotation, AnnotationKind
from labelapp.projects.colors import NAMED_COLORS
from tests.e2e.conftest import DESKTOP, PHONE, SCREENSHOTS

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def draw(page, stage_box, x0, y0, x1, y1):
    left, top, width, height = stage_box["x"], stage_box["y"], stage_box["width"], stage_box["height"]
    page.mouse.move(left + x0 * width, top + y0 * height)
    page.mouse.down()
    page.mouse.move(left + x1 * width, top + y1 * height, steps=5)
    page.mouse.up()


def test_a_white_class_reads_on_the_image_in_the_box_list_and_in_the_chart(page, live_server, login, shoot, porch):
    project, images, classes = porch["project"], porch["images"], porch["classes"]
    white = classes[1]
    assert (white.name, white.color) == ("white_envelope", NAMED_COLORS["white"])
    login("annotator")
    page.goto(f"{live_server.url}/projects/{project.pk}/label")
    expect(page.get_by_test_id("label-page")).to_have_attribute("data-image-id", str(images[0].pk))
    page.keyboard.press("2")
    draw(page, page.get_by_test_id("image-stage").bounding_box(), 0.45, 0.3, 0.75, 0.7)
    label = page.locator("g.box text.box-label", has_text="white_envelope")
    expect(label).to_have_css("fill", "rgb(17, 24, 39)")  # dark text on the near-white tag
    white_box = page.locator("g.box").filter(has=page.locator("text.box-label", has_text="white_envelope"))
    expect(white_box.locator(".box-halo")).to_have_count(1)
    brown = page.locator("g.box text.box-label", has_text="brown_box")
    expect(brown).to_have_css("fill", "rgb(255, 255, 255)")

    rows = page.get_by_test_id("box-list").locator("li")
    expect(rows).to_have_count(2)
    shoot("label-white-class", full_page=True)
    for viewport in (DESKTOP, PHONE):
        page.set_viewport_size(viewport)
        page.wait_for_timeout(200)
        for index in range(2):
            row = rows.nth(index)
            name = row.locator(".box-row-name")
            # The whole class name shows (no "bro…"), and the size/confidence line ends before the eye button.
            assert name.evaluate("el => el.scrollWidth <= el.clientWidth"), name.inner_text()
            meta = row.locator(".box-row-meta").bounding_box()
            eye = row.get_by_role("button", name=re.compile(r"^(Hide|Show) box")).bounding_box()
            assert meta["x"] + meta["width"] <= eye["x"], (viewport, meta, eye)
    page.set_viewport_size(DESKTOP)

    for image, boxes in (
        (images[2], [(30, 40, 60, 50, 0), (200, 100, 40, 40, 1)]),
        (images[3], [(150, 90, 50, 50, 1)]),
    ):
        Annotation.objects.create(
            project=project,
            image=image,
            kind=AnnotationKind.IMPORTED,
            is_free=True,
            boxes=[{"x": x, "y": y, "w": w, "h": h, "label_class": classes[c].pk} for x, y, w, h, c in boxes],
        )
    login("admin")
    page.goto(f"{live_server.url}/projects/{project.pk}/admin-ui/data")
    legend = page.get_by_test_id("box-sizes-legend")
    expect(legend).to_contain_text("white_envelope")
    swatch = legend.locator("li", has_text="white_envelope").locator(".swatch-legend-swatch")
    expect(swatch).to_have_css("border-top-color", "rgb(136, 138, 139)")
    expect(legend.locator("li", has_text="white_envelope")).to_have_css("color", "rgb(15, 23, 42)")
    bars = page.get_by_test_id("box-sizes").locator(f".recharts-bar-rectangle path[fill='{NAMED_COLORS['white']}']")
    expect(bars.first).to_have_attribute("stroke", "#888a8b")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for label_, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(viewport)
        page.wait_for_timeout(300)
        page.get_by_test_id("health").screenshot(path=str(SCREENSHOTS / f"admin-health-white-class-{label_}.png"))
    page.set_viewport_size(DESKTOP)


def test_settings_offer_adaptive_and_the_review_settings(page, live_server, login, shoot, detection_project):
    project = detection_project
    login("admin")
    page.goto(f"{live_server.url}/projects/{project.pk}/admin-ui/settings")
    settings = page.get_by_test_id("settings-panel")
    strategy = settings.locator("select[name=strategy]")
    expected = ["adaptive (default)", "random", "detection mean", "detection max", "detection near threshold"]
    expect(strategy.locator("option")).to_have_text(expected)

    strategy.select_option("random")
    settings.get_by_role("button", name="Save settings").click()
    expect(settings.get_by_text("Settings saved.")).to_be_visible()
    project.refresh_from_db()
    assert project.settings["strategy"] == "random"
    # The way back to the default is still there.
    expect(strategy.locator("option")).to_have_text(expected)
    strategy.select_option("adaptive")
    settings.get_by_role("button", name="Save settings").click()
    expect(settings.get_by_text("Settings saved.")).to_be_visible()
    project.refresh_from_db()
    assert project.settings["strategy"] == "adaptive"

    review = settings.locator("fieldset", has=page.locator("legend", has_text="Review and label quality"))
    expect(review.locator("select[name=review_mode] option")).to_have_text(["all (default)", "share", "suspects"])
    expect(review).to_contain_text("Which labels go to the review queue")
    share = review.locator("input[name=review_share][type=number]")
    expect(share).to_have_attribute("max", "1")
    review.locator("select[name=review_mode]").select_option("share")
    share.fill("1.5")
    settings.get_by_role("button", name="Save settings").click()
    expect(settings.get_by_test_id("error-review_share")).to_contain_text("less than or equal to 1")
    share.fill("0.3")
    review.locator("input[name=gold_rate][type=number]").fill("0.1")
    settings.get_by_role("button", name="Save settings").click()
    expect(settings.get_by_text("Settings saved.")).to_be_visible()
    project.refresh_from_db()
    assert (project.settings["review_mode"], project.settings["review_share"], project.settings["gold_rate"]) == (
        "share",
        0.3,
        0.1,
    )
    shoot("admin-settings-review", full_page=True)


def test_a_class_key_field_takes_only_1_to_9(page, live_server, login, detection_project):
    login("admin")
    page.goto(f"{live_server.url}/projects/{detection_project.pk}/admin-ui/settings")
    panel = page.get_by_test_id("classes-panel")
    add = panel.get_by_role("form", name="Add class")
    add.get_by_label("Name").fill("parcel")
    key = add.get_by_label("Key")
    key.press_sequentially("s")
    expect(key).to_have_value("")
    key.press_sequentially("4")
    expect(key).to_have_value("4")
    add.get_by_role("button", name="Add").click()
    expect(panel.get_by_test_id("class-parcel")).to_contain_text("4")
    assert detection_project.label_classes.get(name="parcel").hotkey == "4"
