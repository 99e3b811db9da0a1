"""Browser tests: the built frontend (frontend/dist) served by Django's live server,
driven by Playwright through Debian's Chromium (never `playwright install`).

Build the frontend first: `cd frontend && npm ci && npm run build`."""

import io
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PilImage

# Playwright's sync API runs an event loop in this thread; Django's ORM refuses to
# run inside one unless told it is safe (the live server is another thread).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

REPO = Path(__file__).resolve().parents[2]
FRONTEND_INDEX = REPO / "frontend" / "dist" / "index.html"
SCREENSHOTS = REPO / "test-artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


def pytest_collection_modifyitems(config, items):
    missing = []
    if not FRONTEND_INDEX.exists():
        missing.append("the built frontend (cd frontend && npm ci && npm run build)")
    if not (Path(CHROMIUM).exists() or shutil.which("chromium")):
        missing.append("Chromium (apt-get install -y chromium)")
    if missing:
        skip = pytest.mark.skip(reason="e2e needs " + " and ".join(missing))
        for item in items:
            if "e2e" in item.keywords:
                item.add_marker(skip)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": DESKTOP}


@pytest.fixture
def page(page):
    page.set_default_timeout(10_000)
    return page


def png_bytes(seed: int, size: tuple[int, int] = (320, 240)) -> bytes:
    """A distinct, valid picture: soft background with a few coloured rectangles."""
    rng = np.random.default_rng(seed)
    w, h = size
    array = np.full((h, w, 3), 200, dtype=np.uint8)
    array[:] = rng.integers(150, 230, 3, dtype=np.uint8)
    for _ in range(3):
        x, y = int(rng.integers(0, w - 60)), int(rng.integers(0, h - 50))
        array[y : y + int(rng.integers(20, 50)), x : x + int(rng.integers(25, 60))] = rng.integers(
            20, 255, 3, dtype=np.uint8
        )
    out = io.BytesIO()
    PilImage.fromarray(array).save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def shoot(page):
    """Saves the current page at desktop and phone sizes under test-artifacts/screenshots/."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def capture(name: str, *, full_page: bool = False):
        for label, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
            page.set_viewport_size(viewport)
            page.evaluate("window.scrollTo(0, 0)")  # a sticky header would otherwise land mid-page
            page.wait_for_timeout(250)  # layout, ResizeObserver and image fit settle
            page.screenshot(path=str(SCREENSHOTS / f"{name}-{label}.png"), full_page=full_page)
        page.set_viewport_size(DESKTOP)
        page.wait_for_timeout(150)

    return capture


@pytest.fixture
def login(page, live_server):
    def go(username: str, password: str | None = None):
        page.context.clear_cookies()
        page.goto(f"{live_server.url}/login")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(password or f"pw-{username}")
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{live_server.url}/projects")

    return go


@pytest.fixture
def porch(transactional_db, detection_project):
    """The detection project with four pool images (priorities 0.9 … 0.6), 20 credits,
    and a model prediction (two boxes, 0.92 and 0.2) on the top image."""
    from labelapp.credits.services import credit_grant
    from labelapp.images.services import images_ingest
    from labelapp.training.models import ModelVersion, Prediction

    project = detection_project
    classes = list(project.label_classes.order_by("order"))
    created = images_ingest(
        project=project, files=[(f"porch-{i}.png", png_bytes(i), "image/png") for i in range(4)]
    ).created
    version = ModelVersion.objects.create(
        project=project,
        number=1,
        model_name="e2e",
        checkpoint="checkpoints/e2e.pt",
        classes=[c.pk for c in classes],
        input_size=64,
        is_active=True,
        labels_seen=12,
        metrics={
            "val": {"map50": 0.41, "per_class": {c.name: {"ap50": 0.4} for c in classes}},
            "test": {"map50": 0.38, "per_class": {c.name: {"ap50": 0.35} for c in classes}},
        },
    )
    for index, image in enumerate(created):
        image.priority = 0.9 - index * 0.1
        image.score_reason = "least_confident"
        image.scored_by = version
        image.save(update_fields=["priority", "score_reason", "scored_by"])
    Prediction.objects.create(
        image=created[0],
        model_version=version,
        score=0.9,
        boxes=[
            {"x": 40.0, "y": 30.0, "w": 80.0, "h": 60.0, "label_class": classes[0].pk, "score": 0.92},
            {"x": 200.0, "y": 120.0, "w": 50.0, "h": 40.0, "label_class": classes[2].pk, "score": 0.2},
        ],
    )
    credit_grant(project=project, amount=20, note="e2e budget")
    return {"project": project, "images": created, "classes": classes, "version": version}
