"""Transfer annotations between emotion labels and valence-arousal: ``python transfer.py input=... output=...``
(see src/levasa/conf/transfer.yaml), or score the strategies: ``python transfer.py mode=evaluate``."""

from levasa.apps.transfer import main

if __name__ == "__main__":
    main()
