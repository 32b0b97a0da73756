"""Expression editing: ``python edit.py ckpt=.../best.ckpt input=FILE_OR_FOLDER target=[0.6,0.3]``."""

from levasa.apps.edit import main

if __name__ == "__main__":
    main()
