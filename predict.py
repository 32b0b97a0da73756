"""VA and emotion for every image of a folder: ``python predict.py ckpt=.../best.ckpt input=FOLDER``."""

from levasa.apps.predict import main

if __name__ == "__main__":
    main()
