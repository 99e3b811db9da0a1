"""The labeling page's tools in a real browser: the class-key rule (keys 1–9 set the class
for new boxes, relabel only a box the user clicked), undo, the box list, brightness and
contrast, an unsaved drawing surviving a reload, and the next image fetched in advance."""

import re

import pytest
from playwright.sync_api import expect

from labelapp.labeling.models import Annotation

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def draw(page, stage_box, x0, y0, x1, y1):
    """Drag from (x0, y0) to (x1, y1), in fractions of the stage."""
    left, top, width, height = stage_box["x"], stage_box["y"], stage_box["width"], stage_box["height"]
    page.mouse.move(left + x0 * width, top + y0 * height)
    page.mouse.down()
    page.mouse.move(left + (x0 + x1) / 2 * width, top + (y0 + y1) / 2 * height, steps=3)
    page.mouse.move(left + x1 * width, top + y1 * height, steps=3)
    page.mouse.up()


def rows(page):
    return page.get_by_test_id("box-list").get_by_role("button", name=re.compile(r"^Box \d+: "))


def test_class_keys_label_new_boxes_and_relabel_only_a_clicked_box(page, live_server, login, shoot, porch):
    project, images, classes = porch["project"], porch["images"], porch["classes"]
    first, second, third = (c.name for c in classes)
    login("annotator")
    page.goto(f"{live_server.url}/projects/{project.pk}/label")
    expect(page.get_by_test_id("label-page")).to_have_attribute("data-image-id", str(images[0].pk))
    # The next image in the queue is fetched while this one is labeled (no extra reservation).
    page.wait_for_function(
        "path => performance.getEntriesByType('resource').some(entry => entry.name.includes(path))",
        arg=f"/images/{images[1].pk}/file",
    )
    stage = page.get_by_test_id("image-stage")
    box = stage.bounding_box()

    # The model's box (92 %) is listed first; draw box 2 with the class for new boxes (key 1's class).
    expect(rows(page)).to_have_count(1)
    draw(page, box, 0.15, 0.55, 0.35, 0.85)
    expect(rows(page)).to_have_count(2)
    expect(rows(page).nth(1)).to_have_accessible_name(f"Box 2: {first}")
    # Box 2 is selected for its handles, but the key is for the NEXT box: box 2 keeps its class.
    page.keyboard.press("2")
    expect(page.get_by_test_id("class-target")).to_have_text("Class for new boxes")
    expect(page.get_by_role("radio", name=second)).to_have_attribute("aria-checked", "true")
    expect(rows(page).nth(1)).to_have_accessible_name(f"Box 2: {first}")
    draw(page, box, 0.6, 0.55, 0.85, 0.85)
    expect(rows(page).nth(2)).to_have_accessible_name(f"Box 3: {second}")
    shoot("label-box-list", full_page=True)

    # A click on box 2 picks it: now a key relabels it, and Z takes that back.
    page.mouse.click(box["x"] + 0.25 * box["width"], box["y"] + 0.7 * box["height"])
    expect(page.get_by_test_id("class-target")).to_have_text("Class of box 2")
    page.keyboard.press("3")
    expect(rows(page).nth(1)).to_have_accessible_name(f"Box 2: {third}")
    page.keyboard.press("z")
    expect(rows(page).nth(1)).to_have_accessible_name(f"Box 2: {first}")
    page.keyboard.press("3")
    expect(rows(page).nth(1)).to_have_accessible_name(f"Box 2: {third}")
    page.keyboard.press("Escape")
    expect(page.get_by_test_id("class-target")).to_have_text("Class for new boxes")

    # Hide takes a box off the display only; brightness and contrast touch only the <img>.
    expect(page.locator("g.box")).to_have_count(3)
    page.get_by_role("button", name="Hide box 1").click()
    expect(page.locator("g.box")).to_have_count(2)
    page.get_by_label("Brightness").fill("200")
    expect(stage.locator("img")).to_have_css("filter", "brightness(2) contrast(1)")

    # A reload brings the unsaved drawing back (same reservation, same image).
    page.reload()
    expect(page.get_by_text("Restored your unsaved work on this image.")).to_be_visible()
    expect(rows(page)).to_have_count(3)
    expect(rows(page).nth(1)).to_have_accessible_name(f"Box 2: {third}")
    expect(rows(page).nth(2)).to_have_accessible_name(f"Box 3: {second}")
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("label-page")).to_have_attribute("data-image-id", str(images[1].pk))

    stored = Annotation.objects.get(image=images[0]).boxes
    # The unreviewed suggestion (box 1) is not submitted; box 2 and box 3 keep the classes shown.
    assert [b["label_class"] for b in stored] == [classes[2].pk, classes[1].pk]
    assert page.evaluate(f"localStorage.getItem('labelapp:draft:{project.pk}:{images[0].pk}')") is None


def test_enter_submits_after_a_click_on_a_sidebar_button(page, live_server, login, porch):
    """A mouse click leaves focus on the clicked button; Enter must still submit the image,
    not press that button again (re-pick the class, toggle hide)."""
    project, images, classes = porch["project"], porch["images"], porch["classes"]
    login("annotator")
    page.goto(f"{live_server.url}/projects/{project.pk}/label")
    label_page = page.get_by_test_id("label-page")
    expect(label_page).to_have_attribute("data-image-id", str(images[0].pk))
    box = page.get_by_test_id("image-stage").bounding_box()

    # Image 1: pick the second class with the mouse, draw, click that class again, Enter.
    page.get_by_role("radio", name=classes[1].name).click()
    draw(page, box, 0.15, 0.55, 0.35, 0.85)
    page.get_by_role("radio", name=classes[1].name).click()
    page.keyboard.press("Enter")
    expect(label_page).to_have_attribute("data-image-id", str(images[1].pk))
    assert [b["label_class"] for b in Annotation.objects.get(image=images[0]).boxes] == [classes[1].pk]

    # Image 2: draw, hide the box from the list, Enter submits it (hidden boxes still count).
    draw(page, box, 0.5, 0.2, 0.8, 0.6)
    page.get_by_role("button", name="Hide box 1").click()
    expect(page.get_by_role("button", name="Show box 1")).to_be_focused()
    page.keyboard.press("Enter")
    expect(label_page).to_have_attribute("data-image-id", str(images[2].pk))
    assert [b["label_class"] for b in Annotation.objects.get(image=images[1]).boxes] == [classes[1].pk]
    # Keyboard users still press a focused sidebar button with Space.
    draw(page, box, 0.5, 0.2, 0.8, 0.6)
    page.get_by_role("button", name="Hide box 1").focus()
    page.keyboard.press("Space")
    expect(page.get_by_role("button", name="Show box 1")).to_be_visible()
    expect(label_page).to_have_attribute("data-image-id", str(images[2].pk))
