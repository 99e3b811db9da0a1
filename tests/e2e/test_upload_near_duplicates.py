import pytest
from PIL import ImageEnhance
from playwright.sync_api import expect

from labelapp.images.models import Image
from labelapp.images.services import images_ingest
from labelapp.training import embeddings
from labelapp.training.preprocess import images_preprocess
from tests.conftest import BEACH, PORCH, jpeg

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_upload_page_names_the_look_alikes_the_worker_found(
    page, live_server, login, shoot, classification_project
):
    project = classification_project
    embeddings.reset()
    [earlier] = images_ingest(project=project, files=[("img_3.jpg", jpeg(PORCH), "image/jpeg")]).created
    images_preprocess(project_id=project.pk, image_ids=[earlier.pk])
    login("annotator")
    page.goto(f"{live_server.url}/projects/{project.pk}/upload")
    page.get_by_test_id("file-input").set_input_files(
        [
            {
                "name": "img_7.jpg",
                "mimeType": "image/jpeg",
                "buffer": jpeg(ImageEnhance.Brightness(PORCH).enhance(1.08), quality=80),
            },
            {"name": "beach.jpg", "mimeType": "image/jpeg", "buffer": jpeg(BEACH)},
        ]
    )
    expect(page.get_by_test_id("upload-list").locator("li[data-status='created']")).to_have_count(2)
    panel = page.get_by_test_id("near-duplicates")
    # No worker in tests: the page says the check is pending and asks again.
    expect(panel).to_contain_text("Checking 2 new images for near-duplicates")

    new = list(Image.objects.filter(project=project).exclude(pk=earlier.pk).values_list("pk", flat=True))
    images_preprocess(project_id=project.pk, image_ids=new)

    expect(panel).to_contain_text(f"img_7.jpg looks like img_3.jpg (image #{earlier.pk}, cosine 0.9", timeout=15_000)
    expect(panel).to_contain_text("1 of 2 new images look like an earlier image")
    expect(panel).not_to_contain_text("beach.jpg")
    shoot("upload-near-duplicates", full_page=True)


def test_the_model_tab_shows_which_classifier_was_chosen_and_both_validation_figures(
    page, live_server, login, shoot, classification_project
):
    from labelapp.training.models import ModelVersion

    project = classification_project
    classes = list(project.label_classes.order_by("id").values_list("pk", flat=True))
    choice = {
        "chosen": "embedding_classifier",
        "tried": True,
        "reason": "fine-tuned right on 2 validation images the head got wrong, wrong on 1 it got right "
        "(sign test p = 0.500, needs < 0.05): not better by more than noise",
        "head": {"accuracy": 0.9, "images": 40, "interval": [0.77, 0.96]},
        "finetuned": {"accuracy": 0.925, "images": 40, "interval": [0.80, 0.97]},
        "wins": 2,
        "losses": 1,
        "p_value": 0.5,
        "finetune_cpu_seconds": 12.5,
        "finetune_images": 200,
        "finetune_epochs": 4,
    }
    ModelVersion.objects.create(
        project=project,
        number=3,
        model_name="embedding_classifier",
        classes=classes,
        input_size=64,
        is_active=True,
        labels_seen=200,
        checkpoint="checkpoints/e2e.pt",
        metrics={"val": {"accuracy": 0.9, "images": 40}, "model_choice": choice},
    )
    login("admin")
    page.goto(f"{live_server.url}/projects/{project.pk}/admin-ui/model")

    facts = page.get_by_test_id("classifier-choice")
    expect(facts).to_contain_text("not better by more than noise")
    expect(facts).to_contain_text("head 0.90 [0.77–0.96] on 40 images")
    expect(facts).to_contain_text("fine-tuned 0.93 [0.80–0.97] on 40 images")
    expect(page.get_by_test_id("engine")).to_contain_text("fine-tuning: auto")
    shoot("model-tab-classifier-choice")


def test_fine_tuning_is_switched_off_in_the_settings_form(page, live_server, login, classification_project):
    project = classification_project
    login("admin")
    page.goto(f"{live_server.url}/projects/{project.pk}/admin-ui/settings")
    settings = page.get_by_test_id("settings-panel")
    field = settings.get_by_label("Fine-tuning")
    expect(field).to_have_value("auto")
    field.select_option("off")
    settings.get_by_role("button", name="Save settings").click()
    expect(settings.get_by_text("Settings saved.")).to_be_visible()
    project.refresh_from_db()
    assert project.settings["finetune"] == "off"
