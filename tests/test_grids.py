"""The image grids of TensorBoard and the evaluation: each cell decodes the latent it says it does."""

import torch

from levasa.viz.grids import swap_grid, va_plane_latents

SIDE, PAD = 4, 2


class Painter:
    """A 'decoder' that paints each face in one colour per chunk: red = z_v, green = z_a, blue = z_z (1-D chunks),
    so a grid cell shows which face each chunk came from."""

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return z[:, :, None, None].expand(-1, 3, SIDE, SIDE).clone()


def cell(grid: torch.Tensor, row: int, col: int) -> torch.Tensor:
    """The colour (3 values) at the centre of grid cell (row, col)."""
    step = SIDE + PAD
    return grid[:, PAD + row * step + SIDE // 2, PAD + col * step + SIDE // 2]


def test_swap_grid_cells_take_the_columns_expression_and_the_rows_person():
    values = torch.tensor([0.1, 0.4, 0.7])[:, None]
    chunks = [values, values + 0.05, values + 0.1]  # face i: z_v, z_a, z_z
    grid = swap_grid(Painter(), chunks)
    assert grid.shape == (3, PAD + 4 * (SIDE + PAD), PAD + 4 * (SIDE + PAD))  # a 4x4 grid: blank + 3 faces each way
    assert torch.allclose(cell(grid, 0, 0), torch.ones(3))  # the blank corner
    for j in range(3):
        assert torch.allclose(cell(grid, 0, j + 1), torch.cat([chunks[c][j] for c in range(3)]))  # donors on top
    for i in range(3):
        assert torch.allclose(cell(grid, i + 1, 0), torch.cat([chunks[c][i] for c in range(3)]))  # recipients left
        for j in range(3):
            expected = torch.cat([chunks[0][j], chunks[1][j], chunks[2][i]])
            assert torch.allclose(cell(grid, i + 1, j + 1), expected)


def test_va_plane_walks_valence_to_the_right_and_arousal_upwards():
    base = [torch.zeros(1, 1), torch.zeros(1, 1), torch.full((1, 1), 0.5)]
    path_v, path_a = torch.tensor([[-1.0], [0.0], [1.0]]), torch.tensor([[-0.5], [0.5]])
    z = va_plane_latents(base, path_v, path_a).reshape(2, 3, 3)  # rows x columns x (v, a, z)
    assert torch.equal(z[0, :, 0], path_v[:, 0]) and torch.equal(z[1, :, 0], path_v[:, 0])
    assert torch.equal(z[:, 0, 1], torch.tensor([0.5, -0.5]))  # top row: the highest arousal
    assert torch.all(z[..., 2] == 0.5)  # the person stays
