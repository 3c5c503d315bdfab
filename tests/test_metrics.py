import numpy as np
import pytest
import torch

from frbench.metrics import EPS, dice_per_image, mean_dice, predict_mask


def test_dice_hand_worked():
    g = np.zeros((1, 4, 4), dtype=np.uint8)
    g[0, :2, :2] = 1  # 4 pixels
    p = np.zeros_like(g)
    p[0, :2, :1] = 1  # 2 pixels, both inside
    assert dice_per_image(p, g)[0] == pytest.approx((2 * 2 + EPS) / (2 + 4 + EPS))
    assert dice_per_image(g, g)[0] == pytest.approx(1.0)


def test_dice_empty_and_disjoint():
    empty = np.zeros((1, 3, 3))
    assert dice_per_image(empty, empty)[0] == 1.0  # nothing to find, nothing found
    a, b = np.zeros((1, 3, 3)), np.zeros((1, 3, 3))
    a[0, 0, 0], b[0, 2, 2] = 1, 1
    assert dice_per_image(a, b)[0] == pytest.approx(EPS / (2 + EPS))


def test_mean_dice_averages_images_not_pixels():
    g = np.zeros((2, 2, 2))
    g[0] = 1  # image 0: all foreground; image 1: none
    p = np.zeros((2, 2, 2))  # predicts nothing: image 0 scores ~0, image 1 scores 1
    assert mean_dice(p, g) == pytest.approx(0.5, abs=1e-6)


def test_predict_mask_two_logits_and_one():
    two = torch.tensor([[[[0.0, 1.0]], [[1.0, 0.0]]]])  # (1, 2, 1, 2)
    assert predict_mask(two).tolist() == [[[1, 0]]]
    one = torch.tensor([[[[-1.0, 2.0]]]])
    assert predict_mask(one).tolist() == [[[0, 1]]]


def test_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match="shape"):
        dice_per_image(np.zeros((1, 2, 2)), np.zeros((1, 3, 3)))
