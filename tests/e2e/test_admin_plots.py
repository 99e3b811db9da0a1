"""The admin page's plots in a real browser: axes with scales and labels, legends, the
heatmap's colour scale, exact values on hover, the learning curve from 0 to the budget with
the evaluation interval, a single point explained in a sentence, counts as integers."""

import pytest
from playwright.sync_api import expect

from .conftest import DESKTOP, PHONE, SCREENSHOTS

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def label_two_images(porch):
    from labelapp.labeling.models import Annotation, AnnotationKind

    project, images, classes = porch["project"], porch["images"], porch["classes"]
    for image, boxes in (
        (images[2], [(30, 40, 60, 50, 0), (200, 100, 40, 40, 1)]),
        (images[3], [(150, 90, 50, 50, 0)]),
    ):
        Annotation.objects.create(
            project=project,
            image=image,
            kind=AnnotationKind.IMPORTED,
            is_free=True,
            boxes=[{"x": x, "y": y, "w": w, "h": h, "label_class": classes[c].pk} for x, y, w, h, c in boxes],
        )


def test_learning_curve_health_and_metrics_are_readable(page, live_server, login, shoot, porch):
    from labelapp.training.models import LearningCurve, ModelVersion

    project, classes, version = porch["project"], porch["classes"], porch["version"]
    label_two_images(porch)
    version.credits_spent = 8
    version.metrics = {
        "val": {
            "images": 40,
            "map50": 0.41,
            "interval": [0.3, 0.52],
            "per_class": {c.name: {"ap50": 0.4, "num_gt": 97} for c in classes},
        },
        "test": {"images": 38, "map50": 0.38, "per_class": {c.name: {"ap50": 0.35, "num_gt": 88} for c in classes}},
    }
    version.save()
    ModelVersion.objects.create(
        project=project,
        number=2,
        model_name="e2e",
        checkpoint="checkpoints/e2e2.pt",
        classes=version.classes,
        input_size=64,
        labels_seen=15,
        credits_spent=16,
        metrics={"val": {"images": 40, "map50": 0.47, "interval": [0.36, 0.58]}},
    )
    for strategy, values in (("least_confident", (0.2, 0.45, 0.6)), ("random", (0.2, 0.3, 0.4))):
        LearningCurve.objects.create(
            project=project,
            strategy=strategy,
            metric="map50",
            points=[
                {"credits_spent": spent, "labels": spent, "val": v, "test": v - 0.03, "model_version": i + 1}
                for i, (spent, v) in enumerate(zip((4, 10, 18), values))
            ],
        )

    login("admin")
    page.goto(f"{live_server.url}/projects/{project.pk}/admin-ui")

    curve = page.get_by_test_id("learning-curve")
    legend = curve.locator(".recharts-legend-wrapper")
    for name in ("this project", "least confident", "random"):
        expect(legend).to_contain_text(name)
    # The credits axis runs from 0 to the budget (20 granted), labelled; the metric axis is labelled.
    x_ticks = curve.locator(".recharts-xAxis-tick-labels text")
    expect(x_ticks.first).to_have_text("0")
    expect(x_ticks.last).to_have_text("20")
    expect(curve.locator("text.recharts-label", has_text="credits spent")).to_be_visible()
    expect(curve.locator("text.recharts-label", has_text="mAP@0.5")).to_be_visible()
    expect(curve).to_contain_text("budget 20")
    # The project's own versions carry their 95 % interval as error bars.
    expect(curve.locator(".recharts-errorBar")).to_have_count(2)
    expect(curve).to_contain_text("bars: 95% interval")
    # Hovering the project's second point reads its exact values.
    curve.locator(".recharts-line-dots").first.locator("circle").nth(1).hover()
    tooltip = curve.locator(".chart-tooltip")
    expect(tooltip).to_contain_text("16 credits spent")
    expect(tooltip).to_contain_text("this project mAP@0.5 val 0.470 [0.360–0.580], n = 40")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.get_by_test_id("learning-curve-panel").screenshot(
        path=str(SCREENSHOTS / "admin-learning-curve-hover-desktop.png")
    )

    page.goto(f"{live_server.url}/projects/{project.pk}/admin-ui/data")  # the health check's tab
    health = page.get_by_test_id("health")
    heatmap = health.get_by_test_id("heatmap").first
    expect(heatmap.get_by_test_id("color-scale")).to_contain_text("box centres per cell")
    hot = heatmap.locator(".heatmap-cell[data-value='1']").first
    hot.hover()
    expect(heatmap.locator(".heatmap-readout")).to_contain_text(": 1 box centre")
    sizes = health.get_by_test_id("box-sizes")
    expect(sizes.get_by_test_id("box-sizes-legend")).to_contain_text(classes[0].name)
    expect(sizes.locator("text.recharts-label", has_text="boxes")).to_be_visible()
    expect(sizes.locator("text.recharts-label", has_text="box size")).to_be_visible()
    expect(sizes.locator(".recharts-yAxis-tick-labels text").first).to_have_text("0")

    page.goto(f"{live_server.url}/projects/{project.pk}/admin-ui/model")  # the model versions' tab
    versions = page.get_by_test_id("model-versions-panel")
    versions.get_by_role("button", name="v1").click()
    table = versions.get_by_test_id("metrics-table")
    row = table.get_by_role("row", name=classes[0].name)
    expect(row).to_contain_text("97")
    expect(row).not_to_contain_text("97.0")
    expect(table.get_by_role("row", name="mAP@0.5")).to_contain_text("0.410 [0.300–0.520]")
    expect(table.get_by_test_id("evaluation-sample")).to_have_text(
        "Evaluated on validation: 40 images · test: 38 images · [brackets]: 95% interval"
    )
    shoot("admin-plots", full_page=True)


def test_a_single_point_is_a_point_with_a_sentence(page, live_server, login, porch):
    project = porch["project"]
    login("admin")
    page.goto(f"{live_server.url}/projects/{project.pk}/admin-ui")
    curve = page.get_by_test_id("learning-curve")
    expect(curve).to_have_attribute("data-points", "1")
    expect(curve.get_by_test_id("learning-curve-note")).to_have_text(
        "One model version so far: mAP@0.5 0.410 on validation, 0.380 on test after 0 credits. The curve grows with each trained version."
    )
    expect(curve.locator(".recharts-line-dots circle")).not_to_have_count(0)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for label, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(viewport)
        page.wait_for_timeout(250)  # ResizeObserver re-lays the chart out
        page.get_by_test_id("learning-curve-panel").screenshot(
            path=str(SCREENSHOTS / f"admin-learning-curve-one-point-{label}.png")
        )
