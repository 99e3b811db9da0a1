"""The pretrained backbone loads only the file it expects, strictly, and embeds."""

import numpy as np
import pytest
import torch

from labelapp.learning.backbone import (
    EMBED_DIM,
    MOBILENET_V2_SHA256,
    BackboneUnavailable,
    MobileNetV2,
    default_weights_path,
    load_backbone,
)


def test_shipped_weights_load_strictly_and_embed_unit_vectors():
    backbone = load_backbone()
    images = np.random.default_rng(0).integers(0, 256, (3, 40, 40, 3), dtype=np.uint8)

    vectors = backbone.embed(images)

    assert vectors.shape == (3, EMBED_DIM) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)


def test_same_content_gets_the_same_vector_and_different_content_another():
    backbone = load_backbone()
    rng = np.random.default_rng(1)
    a = rng.integers(0, 256, (1, 64, 64, 3), dtype=np.uint8)
    b = np.full((1, 64, 64, 3), 30, dtype=np.uint8)

    va, va_again, vb = backbone.embed(a), backbone.embed(a.copy()), backbone.embed(b)

    np.testing.assert_allclose(va, va_again, atol=1e-6)
    assert float(va[0] @ vb[0]) < 0.99


def test_a_file_with_another_digest_is_refused(tmp_path):
    altered = tmp_path / "weights.pth"
    torch.save(MobileNetV2().state_dict(), altered)

    with pytest.raises(BackboneUnavailable, match="sha256"):
        load_backbone(altered)


def test_a_file_that_does_not_fit_is_refused_even_without_a_digest(tmp_path):
    foreign = tmp_path / "foreign.pth"
    torch.save({"features.0.0.weight": torch.zeros(1)}, foreign)

    with pytest.raises(BackboneUnavailable, match="do not fit"):
        load_backbone(foreign, expected_sha256=None)


def test_missing_file_is_refused(tmp_path):
    with pytest.raises(BackboneUnavailable, match="does not exist"):
        load_backbone(tmp_path / "nope.pth")


def test_shipped_file_has_the_published_digest():
    import hashlib

    shipped = default_weights_path()  # make install puts the package in the venv

    assert shipped is not None
    assert hashlib.sha256(shipped.read_bytes()).hexdigest() == MOBILENET_V2_SHA256
