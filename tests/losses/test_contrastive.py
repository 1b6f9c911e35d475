import math

import pytest
import torch
import torch.nn.functional as F

from semspace.losses import create_loss


def naive_info_nce(a: torch.Tensor, b: torch.Tensor, scale: float) -> float:
    n = a.shape[0]
    total = 0.0
    for i in range(n):
        sims_ab = [scale * float(a[i] @ b[j]) for j in range(n)]
        sims_ba = [scale * float(b[i] @ a[j]) for j in range(n)]
        lse_ab = math.log(sum(math.exp(s) for s in sims_ab))
        lse_ba = math.log(sum(math.exp(s) for s in sims_ba))
        total += (lse_ab - sims_ab[i]) + (lse_ba - sims_ba[i])
    return total / (2 * n)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_info_nce_matches_naive_loop(seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    a = F.normalize(torch.randn(6, 5, generator=g, dtype=torch.float64), dim=-1)
    b = F.normalize(torch.randn(6, 5, generator=g, dtype=torch.float64), dim=-1)
    loss = create_loss("info_nce")(a, b, 10.0)
    assert float(loss) == pytest.approx(naive_info_nce(a, b, 10.0), rel=1e-9)


def test_info_nce_prefers_aligned_pairs() -> None:
    a = F.normalize(torch.randn(8, 16), dim=-1)
    aligned = create_loss("info_nce")(a, a, 20.0)
    shuffled = create_loss("info_nce")(a, a.roll(1, 0), 20.0)
    assert aligned < shuffled


def test_info_nce_rejects_mismatched_shapes() -> None:
    with pytest.raises(ValueError, match="equal shape"):
        create_loss("info_nce")(torch.zeros(3, 4), torch.zeros(2, 4), 1.0)
