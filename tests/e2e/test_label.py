import pytest
from playwright.sync_api import expect

from labelapp.credits.services import credit_grant
from labelapp.images.services import images_ingest
from labelapp.labeling.models import Annotation

from .conftest import png_bytes

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def shown_image(page):
    return page.get_by_test_id("label-page")


def test_annotator_accepts_a_suggestion_draws_a_box_and_skips(page, live_server, login, shoot, porch):
    project, images, classes = porch["project"], porch["images"], porch["classes"]
    login("annotator")
    page.get_by_test_id(f"project-{project.pk}").get_by_role("link", name="Label").click()

    # 1. The top image comes with the model's boxes: only the one above the 0.50 threshold shows.
    expect(shown_image(page)).to_have_attribute("data-image-id", str(images[0].pk))
    expect(page.locator("g.box")).to_have_count(1)
    expect(page.locator("g.box text")).to_have_text(f"{classes[0].name} 92%")
    expect(page.get_by_test_id("reason")).to_contain_text("least confident")
    expect(page.get_by_test_id("reason")).to_contain_text("0.900")
    expect(page.get_by_test_id("credits-left")).to_have_text("19")
    expect(page.get_by_test_id("labeled-today")).to_have_text("0")
    expect(page.get_by_test_id("box-count")).to_contain_text("0 boxes to submit")
    shoot("label-detection")
    page.keyboard.press("a")
    expect(page.get_by_test_id("box-count")).to_contain_text("1 box to submit")
    page.keyboard.press("Enter")

    # 2. The next image: pick class 2 with its key, draw a box, submit.
    expect(shown_image(page)).to_have_attribute("data-image-id", str(images[1].pk))
    expect(page.get_by_test_id("labeled-today")).to_have_text("1")
    page.keyboard.press("2")
    expect(page.get_by_role("radio", name=classes[1].name)).to_have_attribute("aria-checked", "true")
    stage = page.get_by_test_id("image-stage")
    scale = float(stage.get_attribute("data-scale"))
    box = stage.bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(cx - 60, cy - 40)
    page.mouse.down()
    page.mouse.move(cx, cy, steps=4)
    page.mouse.move(cx + 60, cy + 40, steps=4)
    page.mouse.up()
    expect(page.get_by_test_id("box-count")).to_contain_text("1 box to submit")
    # Z undoes the drawing, and drawing again brings it back.
    page.keyboard.press("z")
    expect(page.get_by_test_id("box-count")).to_contain_text("0 boxes to submit")
    page.mouse.move(cx - 60, cy - 40)
    page.mouse.down()
    page.mouse.move(cx + 60, cy + 40, steps=6)
    page.mouse.up()
    expect(page.locator("g.box")).to_have_count(1)
    # The new box is selected: drag its bottom-right handle 30 px right and 20 px down.
    expect(page.locator("rect.box-handle")).to_have_count(8)
    page.mouse.move(cx + 60, cy + 40)
    page.mouse.down()
    page.mouse.move(cx + 90, cy + 60, steps=4)
    page.mouse.up()
    page.keyboard.press("Enter")

    # 3. The third image is skipped.
    expect(shown_image(page)).to_have_attribute("data-image-id", str(images[2].pk))
    page.keyboard.press("s")
    expect(shown_image(page)).to_have_attribute("data-image-id", str(images[3].pk))
    expect(page.get_by_test_id("labeled-today")).to_have_text("2")

    # Wheel zooms around the pointer, right-drag pans, 0 fits the image again.
    fit_scale = float(stage.get_attribute("data-scale"))
    page.mouse.move(cx, cy)
    page.mouse.wheel(0, -300)
    expect(stage).not_to_have_attribute("data-scale", f"{fit_scale:.4f}")
    assert float(stage.get_attribute("data-scale")) > fit_scale * 1.5
    image = stage.locator("img")
    before = image.get_attribute("style")
    page.mouse.down(button="right")
    page.mouse.move(cx + 80, cy + 30, steps=4)
    page.mouse.up(button="right")
    assert image.get_attribute("style") != before
    expect(page.locator("g.box")).to_have_count(0)  # panning never draws
    page.keyboard.press("0")
    expect(stage).to_have_attribute("data-scale", f"{fit_scale:.4f}")

    accepted = Annotation.objects.get(image=images[0])
    assert accepted.boxes == [{"x": 40.0, "y": 30.0, "w": 80.0, "h": 60.0, "label_class": classes[0].pk}]
    drawn = Annotation.objects.get(image=images[1])
    assert len(drawn.boxes) == 1
    drawn_box = drawn.boxes[0]
    assert drawn_box["label_class"] == classes[1].pk
    # Drawn from 60 px left/40 px above the centre of the 320×240 image, then resized.
    assert drawn_box["x"] == pytest.approx(160 - 60 / scale, abs=1.0)
    assert drawn_box["y"] == pytest.approx(120 - 40 / scale, abs=1.0)
    assert drawn_box["w"] == pytest.approx(150 / scale, abs=1.0)
    assert drawn_box["h"] == pytest.approx(100 / scale, abs=1.0)
    assert drawn.seconds_spent > 0
    images[2].refresh_from_db()
    assert images[2].status == "skipped"
    # 20 granted: 2 spent, 1 reserved (the image on screen), the skipped one released.
    expect(page.get_by_test_id("credits-left")).to_have_text("17")


def test_classification_with_number_keys(page, live_server, login, classification_project):
    images = images_ingest(project=classification_project, files=[("cat.png", png_bytes(11), "image/png")]).created
    credit_grant(project=classification_project, amount=5, note="e2e")
    dog = classification_project.label_classes.get(name="dog")
    login("annotator")
    page.goto(f"{live_server.url}/projects/{classification_project.pk}/label")
    expect(shown_image(page)).to_have_attribute("data-image-id", str(images[0].pk))
    page.keyboard.press("Enter")  # nothing chosen yet
    expect(page.get_by_text("Pick a class first")).to_be_visible()
    page.keyboard.press("2")
    expect(page.get_by_role("radio", name="dog")).to_have_attribute("aria-checked", "true")
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("queue-stop")).to_have_attribute("data-kind", "empty")
    expect(page.get_by_role("heading", name="Nothing left to label")).to_be_visible()
    assert Annotation.objects.get(image=images[0]).label_class_id == dog.pk


def test_budget_exhausted_is_explained(page, live_server, login, shoot, detection_project):
    images_ingest(project=detection_project, files=[("a.png", png_bytes(21), "image/png")])
    login("annotator")
    page.goto(f"{live_server.url}/projects/{detection_project.pk}/label")
    expect(page.get_by_test_id("queue-stop")).to_have_attribute("data-kind", "budget")
    expect(page.get_by_role("heading", name="The labeling budget is used up")).to_be_visible()
    shoot("label-budget-exhausted")
