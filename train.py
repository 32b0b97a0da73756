"""Train a Vanilla VAE or LeVAsa: ``python train.py model=levasa alpha=10`` (see src/levasa/conf/train.yaml)."""

from levasa.apps.train import main

if __name__ == "__main__":
    main()
