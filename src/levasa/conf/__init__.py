"""levasa's Hydra config tree, shipped with the package and found on Hydra's search path as
``pkg://levasa.conf``: one folder per config group, each option the constructor call of what it configures."""
