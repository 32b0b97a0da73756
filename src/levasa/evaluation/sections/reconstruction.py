"""Reconstruction quality of the held-out faces decoded from their posterior means: mse, psnr, ssim."""

from __future__ import annotations

from typing import Any

import torch

from levasa.evaluation.sections.base import Context, Section
from levasa.metrics.reconstruction import reconstruction_report


class Reconstruction(Section):
    """decode(mu(x)) against x over the held-out split."""

    title = "Reconstruction"

    def compute(self, context: Context) -> dict[str, Any]:
        with torch.no_grad():
            recon = context.module.decode(torch.from_numpy(context.test.features("z_all"))).numpy()
        return reconstruction_report(context.images.numpy(), recon)
