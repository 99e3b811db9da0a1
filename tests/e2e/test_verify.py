import pytest
from playwright.sync_api import expect

from labelapp.images.services import images_ingest

from .conftest import png_bytes

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def to_verify(porch):
    """Two production predictions waiting for a verdict: 3 and 2 brown boxes."""
    from labelapp.production.models import VerificationItem
    from labelapp.training.models import Prediction

    project, version, brown = porch["project"], porch["version"], porch["classes"][0]
    images = images_ingest(
        project=project, files=[(f"prod-{i}.png", png_bytes(50 + i), "image/png") for i in range(2)]
    ).created
    items = []
    for image, n in zip(images, (3, 2)):
        boxes = [
            {"x": 20.0 + 90 * k, "y": 60.0, "w": 70.0, "h": 60.0, "label_class": brown.pk, "score": 0.8}
            for k in range(n)
        ]
        prediction = Prediction.objects.create(
            image=image, model_version=version, boxes=boxes, counts={str(brown.pk): n}
        )
        items.append(
            VerificationItem.objects.create(
                project=project, prediction=prediction, image=image, model_version=version, predicted_count=n
            )
        )
    return items


def test_verifier_judges_two_predictions(page, live_server, login, shoot, porch, to_verify):
    login("verifier")
    page.get_by_test_id(f"project-{porch['project'].pk}").get_by_role("link", name="Verify").click()
    first, second = to_verify
    expect(page.get_by_test_id("verify-page")).to_have_attribute("data-prediction-id", str(first.prediction_id))
    expect(page.get_by_test_id("count-sentence")).to_have_text("The model counted 3 brown boxes")
    expect(page.locator("g.box")).to_have_count(3)
    shoot("verify")
    page.keyboard.press("c")

    expect(page.get_by_test_id("verify-page")).to_have_attribute("data-prediction-id", str(second.prediction_id))
    expect(page.get_by_test_id("count-sentence")).to_have_text("The model counted 2 brown boxes")
    page.get_by_label("True count (optional)").fill("5")
    page.get_by_label("True count (optional)").press("Enter")
    expect(page.get_by_test_id("verify-empty")).to_contain_text("You verified 2 predictions")

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.verdict, first.true_count) == ("correct", None)
    assert (second.verdict, second.true_count) == ("incorrect", 5)
