"""Helpers shared by the training tests: pictures of one dominant colour, which an ImageNet
backbone tells apart, ingested and preprocessed as an upload would be."""

import io

import numpy as np
from PIL import Image as PilImage

from labelapp.images.services import images_ingest
from labelapp.training.preprocess import images_preprocess

RED, BLUE = (200, 40, 40), (40, 40, 200)


def colour_jpeg(seed: int, colour: tuple[int, int, int]) -> bytes:
    """A noisy image of one dominant colour: 'red' and 'blue' are easy to tell apart for an
    ImageNet backbone, and no two seeds give the same bytes."""
    rng = np.random.default_rng(seed)
    array = np.clip(np.array(colour, dtype=float) + rng.normal(0, 25, (48, 48, 3)), 0, 255).astype(np.uint8)
    out = io.BytesIO()
    PilImage.fromarray(array).save(out, format="JPEG")
    return out.getvalue()


def ingest(project, seeds_and_colours):
    files = [(f"c{seed}.jpg", colour_jpeg(seed, colour), "image/jpeg") for seed, colour in seeds_and_colours]
    created = images_ingest(project=project, files=files).created
    images_preprocess(project_id=project.pk, image_ids=[image.pk for image in created])
    return created
