"""Old import path of `partcrafter_dpo.models.layers`, kept for one release: saved pipeline folders name
`partcrafter_dpo.vae` / `partcrafter_dpo.transformer` in their `model_index.json`, and older code imports from here.
This module *is* `partcrafter_dpo.models.layers` (same classes, same objects); import from there instead."""
# Written by hand (not exported from a notebook): remove after the next release.
import sys, warnings
from .models import layers as _module

warnings.warn("partcrafter_dpo.layers moved to partcrafter_dpo.models.layers; the old path goes away after the next release",
              DeprecationWarning, stacklevel=2)
sys.modules[__name__] = _module
