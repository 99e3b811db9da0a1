"""`manage.py demo`: users, both projects, free labels, kept-aside truth, credits; once only.
And the demo's production traffic gives verifiers something to verify."""

import pytest
from django.core.management import call_command

from labelapp.credits.services import balance_get
from labelapp.demo.data import PILLS, PORCH, demo_production_traffic
from labelapp.images.models import Image, KeptTruth, Status
from labelapp.labeling.models import Annotation
from labelapp.projects.models import Project

pytestmark = pytest.mark.django_db


def test_demo_creates_users_projects_and_truth_once(capsys):
    call_command("demo", "--porch-images", "30", "--pill-images", "12", "--no-train")
    porch, pills = Project.objects.get(name=PORCH), Project.objects.get(name=PILLS)
    assert porch.task_type == pills.task_type == "detection"
    assert [c.name for c in porch.label_classes.order_by("order")] == ["brown_box", "white_envelope", "yellow_box"]
    assert Image.objects.filter(project=porch).count() == 30
    assert KeptTruth.objects.filter(image__project=porch).count() == 30
    free = Annotation.objects.filter(project=porch)
    assert free.count() == 30 and all(a.is_free for a in free)  # 100 free labels, capped by the 30 images
    assert balance_get(project=porch).granted == 300
    assert set(porch.memberships.values_list("user__username", "role")) == {
        ("admin", "admin"),
        ("annotator", "annotator"),
        ("verifier", "verifier"),
    }
    assert "admin / labelapp-admin" in capsys.readouterr().out
    call_command("demo", "--porch-images", "30", "--pill-images", "12", "--no-train")
    assert Project.objects.filter(name=PORCH).count() == 1
    assert "already exist" in capsys.readouterr().out


@pytest.mark.slow
def test_demo_traffic_fills_the_verification_queue(client_for, users):
    from labelapp.accounts.models import User
    from labelapp.training.models import ModelVersion
    from labelapp.training.runs import training_request, training_run

    call_command("demo", "--porch-images", "2", "--pill-images", "40", "--no-train")
    pills = Project.objects.get(name=PILLS)
    pills.settings = {**pills.settings, "max_epochs": 1}
    pills.save(update_fields=["settings"])
    training_run(run_id=training_request(project=pills).pk)
    assert ModelVersion.objects.filter(project=pills, is_active=True).exists()
    assert demo_production_traffic(project_id=pills.pk, images=3) == 3
    assert Image.objects.filter(project=pills, source="production", status=Status.UNLABELED).count() == 3
    verifier = client_for(None)
    verifier.force_authenticate(User.objects.get(username="verifier"))
    response = verifier.get(f"/api/projects/{pills.pk}/verifications/next")
    assert response.status_code == 200, response.json()
    assert "total_count" in response.json()["prediction"]


def test_simulate_refuses_a_strategy_of_the_other_task_type_before_touching_anything(detection_project):
    from labelapp.demo.simulation import SimulationError, simulate

    before = dict(detection_project.settings)
    with pytest.raises(SimulationError) as refused:
        simulate(project=detection_project, strategy="margin", progress=lambda line: None)
    assert refused.value.code == "strategy"
    assert "does not fit a detection project" in refused.value.message
    detection_project.refresh_from_db()
    assert detection_project.settings == before
    assert Project.objects.filter(name__startswith=detection_project.name).count() == 1
