import importlib
import sys

from tale_core.cli import main

# Optional extensions that live outside the pure library (the db package records runs and adds
# `experiments` / `db` commands). Loaded here, at the entry point only.
for _name in ("db.cli",):
    try:
        importlib.import_module(_name)
    except ModuleNotFoundError as _e:
        if _e.name not in (_name, _name.split(".")[0]):
            raise

sys.exit(main())
