import pytest
from playwright.sync_api import expect

from labelapp.labeling.models import Annotation, ConsensusAnnotation

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_blind_second_label_that_disagrees_reaches_the_reviewer_with_both_labels(
    page, live_server, login, shoot, porch, users
):
    """Consensus end to end: the annotator labels the top image; a second annotator gets it
    blind (no model boxes, no first label) and gives no boxes; the reviewer sees the
    disagreement with the second label although review_mode would show nothing else."""
    from labelapp.labeling.services import annotation_submit, image_reserve_next
    from labelapp.projects.models import Membership, Role

    project, images, classes = porch["project"], porch["images"], porch["classes"]
    project.settings = {**project.settings, "consensus_share": 1.0, "review_mode": "suspects"}
    project.save()
    Membership.objects.create(project=project, user=users["reviewer"], role=Role.REVIEWER)
    Membership.objects.create(project=project, user=users["nobody"], role=Role.ANNOTATOR)
    item = image_reserve_next(project=project, user=users["annotator"])
    first_boxes = [{"x": 40, "y": 30, "w": 80, "h": 60, "label_class": classes[0].pk}]
    annotation_submit(project=project, user=users["annotator"], image_id=item.image.pk, boxes=first_boxes)
    assert item.image.pk == images[0].pk

    login("nobody")
    page.goto(f"{live_server.url}/projects/{project.pk}/label")
    expect(page.get_by_test_id("label-page")).to_have_attribute("data-image-id", str(images[0].pk))
    # Blind: neither the first label nor the model's boxes (which learnt from it) are shown.
    expect(page.get_by_text("No model suggestions for this image.")).to_be_visible()
    expect(page.locator("g.box")).to_have_count(0)
    expect(page.get_by_test_id("box-count")).to_contain_text("0 boxes to submit")
    shoot("consensus-second-pass")
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("label-page")).to_have_attribute("data-image-id", str(images[1].pk))
    pair = ConsensusAnnotation.objects.get(image=images[0])
    assert (pair.annotator, pair.agreed, pair.boxes) == (users["nobody"], False, [])
    assert Annotation.objects.get(image=images[0]).boxes == first_boxes

    login("reviewer")
    page.get_by_test_id(f"project-{project.pk}").get_by_role("link", name="Review").click()
    expect(page.get_by_test_id("review-page")).to_have_attribute("data-image-id", str(images[0].pk))
    expect(page.get_by_test_id("record-label")).to_have_text(classes[0].name)
    expect(page.get_by_test_id("record-consensus")).to_have_text("Second, blind label by nobody: no boxes (disagrees)")
    expect(page.get_by_test_id("stage-legend")).to_contain_text("second label (nobody): no boxes")
    expect(page.locator("g.box-dotted")).to_have_count(0)
    shoot("review-consensus")
    page.keyboard.press("a")
    expect(page.get_by_test_id("review-empty")).to_be_visible()


def test_the_reviewer_sees_the_second_labels_boxes_dotted_on_the_image_and_can_hide_them(
    page, live_server, login, shoot, porch, users
):
    """A detection disagreement: the first label's box is solid, the model's dashed, and the
    second annotator's boxes dotted, named in a legend; the switch hides them."""
    from labelapp.labeling.services import annotation_submit, image_reserve_next
    from labelapp.projects.models import Membership, Role

    project, images, classes = porch["project"], porch["images"], porch["classes"]
    project.settings = {**project.settings, "consensus_share": 1.0, "review_mode": "suspects"}
    project.save()
    Membership.objects.create(project=project, user=users["reviewer"], role=Role.REVIEWER)
    Membership.objects.create(project=project, user=users["nobody"], role=Role.ANNOTATOR)
    first = image_reserve_next(project=project, user=users["annotator"])
    annotation_submit(
        project=project,
        user=users["annotator"],
        image_id=first.image.pk,
        boxes=[{"x": 40, "y": 30, "w": 80, "h": 60, "label_class": classes[0].pk}],
    )
    second = image_reserve_next(project=project, user=users["nobody"])
    assert second.image.pk == first.image.pk == images[0].pk
    annotation_submit(
        project=project,
        user=users["nobody"],
        image_id=second.image.pk,
        boxes=[
            {"x": 150, "y": 40, "w": 90, "h": 70, "label_class": classes[1].pk},
            {"x": 30, "y": 130, "w": 100, "h": 80, "label_class": classes[2].pk},
        ],
    )

    login("reviewer")
    page.goto(f"{live_server.url}/projects/{project.pk}/review")
    expect(page.get_by_test_id("review-page")).to_have_attribute("data-image-id", str(images[0].pk))
    legend = page.get_by_test_id("stage-legend")
    expect(legend).to_contain_text("first label (annotator)")
    expect(legend).to_contain_text("model")
    expect(legend).to_contain_text("second label (nobody)")
    dotted = page.locator("g.box-dotted")
    expect(dotted).to_have_count(2)
    expect(dotted.first).to_contain_text(f"2nd: {classes[1].name}")
    expect(dotted.first.locator(":scope > rect:not(.box-halo)")).to_have_attribute("stroke-dasharray", "2 4")
    expect(page.locator("g.box:not(.box-dotted):not(.box-pending)")).to_have_count(1)  # the first label, solid
    shoot("review-consensus-boxes")

    toggle = legend.get_by_role("checkbox", name="second label")
    toggle.uncheck()
    expect(dotted).to_have_count(0)
    expect(page.locator("g.box:not(.box-dotted):not(.box-pending)")).to_have_count(1)
    toggle.check()
    expect(dotted).to_have_count(2)
