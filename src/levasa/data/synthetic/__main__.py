"""``python -m levasa.data.synthetic grid --out PATH`` (the VA grid figure) or ``stats`` (expression share, oracle)."""

from __future__ import annotations

import argparse

from levasa.annotation.anchors import affectnet_anchor
from levasa.annotation.oracle import oracle_accuracy
from levasa.data.synthetic.figure import va_grid_figure
from levasa.data.synthetic.stats import expression_variance_share


def main(argv: list[str] | None = None) -> None:
    """``grid --out PATH`` writes the VA grid figure; ``stats`` prints expression share, oracle accuracy."""
    parser = argparse.ArgumentParser(prog="python -m levasa.data.synthetic", description=main.__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    grid = commands.add_parser("grid", help="write the VA grid figure (PNG)")
    grid.add_argument("--out", default="docs/synthetic_faces.png")
    grid.add_argument("--size", type=int, default=64)
    grid.add_argument("--steps", type=int, default=9)
    grid.add_argument("--seed", type=int, default=0)
    stats = commands.add_parser("stats", help="print expression share and oracle accuracy")
    stats.add_argument("--size", type=int, default=64)
    stats.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.command == "grid":
        va_grid_figure(args.out, args.size, args.steps, args.seed)
        print(f"wrote {args.out}")
    else:
        anchor = affectnet_anchor()
        share = expression_variance_share(image_size=args.size, seed=args.seed)
        print(f"expression share of pixel variance ({args.size}x{args.size}): {share:.3f}")
        print(f"oracle 7-class accuracy from true VA: {oracle_accuracy(anchor, seed=args.seed):.4f}")
        print(f"majority-class prior: {anchor.prior.max():.4f}")


if __name__ == "__main__":
    main()
