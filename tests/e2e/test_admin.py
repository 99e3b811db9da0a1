import re

import pytest
from playwright.sync_api import expect

from labelapp.projects.models import Membership

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_admin_grants_credits_and_sees_the_gauge_and_ledger(page, live_server, login, shoot, porch):
    project = porch["project"]
    login("admin")
    page.get_by_test_id(f"project-{project.pk}").get_by_role("link", name="Admin").click()
    gauge = page.get_by_test_id("credit-gauge")
    expect(gauge.get_by_test_id("gauge-granted")).to_have_text("20")
    expect(gauge.get_by_test_id("gauge-available")).to_have_text("20")
    expect(page.get_by_test_id("ledger")).to_contain_text("e2e budget")
    expect(page).to_have_url(f"{live_server.url}/projects/{project.pk}/admin-ui/overview")
    shoot("admin", full_page=True)

    form = page.get_by_role("form", name="Grant credits")
    form.get_by_label("Credits").fill("25")
    form.get_by_label("Note").fill("Q3 top-up")
    form.get_by_role("button", name="Grant").click()
    expect(gauge.get_by_test_id("gauge-granted")).to_have_text("45")
    expect(gauge.get_by_test_id("gauge-available")).to_have_text("45")
    expect(page.get_by_test_id("ledger").locator("tbody tr").first).to_contain_text("Q3 top-up")
    # The gauge's available segment fills the whole bar while nothing is spent.
    expect(gauge.locator(".gauge-seg.gauge-available")).to_have_attribute("style", "width: 100%;")

    # The model version the fixture stored is listed with val and test side by side.
    page.get_by_role("navigation", name="Admin sections").get_by_role("link", name="Model").click()
    versions = page.get_by_test_id("model-versions-panel")
    expect(versions).to_contain_text("v1")
    expect(versions.get_by_test_id("metrics-table")).to_contain_text("0.410")
    expect(versions.get_by_test_id("metrics-table")).to_contain_text("0.380")


def test_admin_edits_settings_and_members(page, live_server, login, porch, users):
    project = porch["project"]
    login("admin")
    page.goto(f"{live_server.url}/projects/{project.pk}/admin-ui/settings")
    settings = page.get_by_test_id("settings-panel")
    settings.get_by_label("Retrain every").fill("7")
    settings.get_by_label(re.compile("^Strategy")).select_option("detection_max")
    settings.get_by_role("button", name="Save settings").click()
    expect(settings.get_by_text("Settings saved.")).to_be_visible()
    project.refresh_from_db()
    assert project.settings["auto_retrain_every"] == 7
    assert project.settings["strategy"] == "detection_max"

    classes = page.get_by_test_id("classes-panel")
    add_class = classes.get_by_role("form", name="Add class")
    add_class.get_by_label("Name").fill("parcel_tube")
    add_class.get_by_label("Key").fill("4")
    add_class.get_by_role("button", name="Add").click()
    expect(classes.locator(".class-list li")).to_have_count(4)
    expect(classes).to_contain_text("parcel_tube")
    assert project.label_classes.filter(name="parcel_tube", hotkey="4").exists()

    page.get_by_role("navigation", name="Admin sections").get_by_role("link", name="Members").click()
    members = page.get_by_test_id("members-panel")
    expect(members.get_by_test_id("member-annotator")).to_be_visible()
    add = members.get_by_role("form", name="Add member")
    add.get_by_label("User").fill("nobody")
    add.get_by_label("Role").select_option("verifier")
    add.get_by_role("button", name="Add").click()
    expect(members.get_by_test_id("member-nobody")).to_be_visible()
    members.get_by_label("Role of nobody").select_option("annotator")
    expect(members.get_by_label("Role of nobody")).to_have_value("annotator")
    page.wait_for_load_state("networkidle")
    assert Membership.objects.get(project=project, user=users["nobody"]).role == "annotator"
    page.once("dialog", lambda dialog: dialog.accept())
    members.get_by_test_id("member-nobody").get_by_role("button", name="Remove").click()
    expect(members.get_by_test_id("member-nobody")).to_have_count(0)
    assert not Membership.objects.filter(project=project, user=users["nobody"]).exists()


def test_annotator_cannot_open_the_admin_page(page, live_server, login, porch):
    login("annotator")
    page.goto(f"{live_server.url}/projects/{porch['project'].pk}/admin-ui")
    expect(page.get_by_role("heading", name="Admins only")).to_be_visible()


def test_admin_sees_training_rescore_learning_curve_and_health(page, live_server, login, shoot, porch):
    from labelapp.images.models import Image, Split, Status
    from labelapp.labeling.models import Annotation, AnnotationKind
    from labelapp.training.models import LearningCurve, RescoreJob, TrainingRun

    project, images, classes, version = porch["project"], porch["images"], porch["classes"], porch["version"]
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
        Image.objects.filter(pk=image.pk).update(status=Status.LABELED, split=Split.TRAIN)  # something to train on
    RescoreJob.objects.create(
        project=project, model_version=version, chunks_total=8, chunks_done=3, images_total=400, status="running"
    )
    for strategy, values in (("least_confident", (0.2, 0.45, 0.6)), ("random", (0.2, 0.3, 0.4))):
        LearningCurve.objects.create(
            project=project,
            strategy=strategy,
            metric="map50",
            points=[
                {"credits_spent": spent, "labels": spent, "val": v, "test": v - 0.03, "model_version": i + 1}
                for i, (spent, v) in enumerate(zip((20, 60, 100), values))
            ],
        )

    login("admin")
    page.goto(f"{live_server.url}/projects/{project.pk}/admin-ui/overview")
    curve = page.get_by_test_id("learning-curve")
    expect(curve.locator(".recharts-legend-wrapper")).to_contain_text("least confident")
    expect(curve.locator(".recharts-legend-wrapper")).to_contain_text("random")
    expect(curve.locator(".recharts-line")).to_have_count(6)  # val and test for live, active and random
    page.goto(f"{live_server.url}/projects/{project.pk}/admin-ui/data")
    health = page.get_by_test_id("health")
    expect(health.get_by_test_id("class-balance")).to_contain_text(classes[0].name)
    expect(health.get_by_test_id("class-balance").locator(".hbar-value").first).to_have_text("2")

    page.goto(f"{live_server.url}/projects/{project.pk}/admin-ui/model")
    rescore = page.get_by_test_id("rescore-panel")
    expect(rescore).to_contain_text("3 of 8 chunks")
    expect(rescore.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "38")
    training = page.get_by_test_id("training-panel")
    training.get_by_role("button", name="Train now").click()
    expect(training.get_by_test_id("training-run")).to_contain_text("queued")
    run = TrainingRun.objects.get(project=project)
    TrainingRun.objects.filter(pk=run.pk).update(status="running", epoch=3, epochs_max=10, loss=0.512)
    expect(training.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "30")
    expect(training).to_contain_text("0.5120")
    expect(training.get_by_role("button", name="Training…")).to_be_disabled()
    shoot("admin-panels", full_page=True)
    TrainingRun.objects.filter(pk=run.pk).update(status="succeeded", epoch=10)
    expect(training.get_by_test_id("training-run")).to_contain_text("succeeded")
    expect(training.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "100")


def test_admin_starts_a_synthesis_job_and_sees_its_progress_and_report(page, live_server, login, shoot, porch):
    from labelapp.images.models import Image, Split, Status
    from labelapp.labeling.models import Annotation, AnnotationKind
    from labelapp.production.models import SynthesisJob

    project, images, classes = porch["project"], porch["images"], porch["classes"]
    Annotation.objects.create(
        project=project,
        image=images[3],
        kind=AnnotationKind.IMPORTED,
        is_free=True,
        boxes=[{"x": 150, "y": 90, "w": 50, "h": 50, "label_class": classes[1].pk}],
    )
    Image.objects.filter(pk=images[3].pk).update(status=Status.LABELED, split=Split.TRAIN)

    login("admin")
    page.goto(f"{live_server.url}/projects/{project.pk}/admin-ui/model")
    panel = page.get_by_test_id("synthesis-panel")
    expect(panel).to_contain_text("No synthesis job yet")
    allowance = panel.get_by_label("Synthesis allowance in credits")
    allowance.fill("500")
    panel.get_by_role("button", name="Synthesize").click()
    expect(panel.locator(".alert-error")).to_contain_text("above the available credits")
    assert not SynthesisJob.objects.exists()

    allowance.fill("4")
    panel.get_by_role("button", name="Synthesize").click()
    expect(panel.get_by_test_id("synthesis-job")).to_contain_text("queued")
    job = SynthesisJob.objects.get(project=project)
    assert job.allowance == 4
    SynthesisJob.objects.filter(pk=job.pk).update(status="running", images_made=3)
    expect(panel.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "75")
    expect(panel.get_by_role("button", name="Synthesizing…")).to_be_disabled()
    names = [c.name for c in classes]
    SynthesisJob.objects.filter(pk=job.pk).update(
        status="succeeded",
        images_made=3,
        stop_reason="budget_exhausted",
        ap_before=dict.fromkeys(names, 0.4),
        ap_after=dict.fromkeys(names, 0.55),
        version_after=porch["version"],
    )
    expect(panel.get_by_test_id("synthesis-job")).to_contain_text("succeeded", timeout=15000)
    expect(panel).to_contain_text("the credits ran out")
    chart = panel.get_by_test_id("synthesis-before-after")
    expect(chart.locator(".recharts-bar-rectangle")).to_have_count(2 * len(names))
    expect(chart).to_contain_text("before the job")
    shoot("admin-synthesis", full_page=True)
