"""Old import path of the pretraining, kept for one release: its code now lives in the `partcrafter_dpo.pretraining`
sub-package (one module per job) and the shape metrics in `partcrafter_dpo.geometry`. This module re-exports their
public names; import from there instead."""
# Written by hand (not exported from a notebook): remove after the next release.
import warnings

from .geometry import sample_surface_points, chamfer_distance, f_score, match_parts, part_metrics, SceneNormalization
from .pretraining import *
from .pretraining import __all__ as _pretraining_all

warnings.warn("partcrafter_dpo.pretrain moved to partcrafter_dpo.pretraining (and its shape metrics to partcrafter_dpo.geometry); "
              "the old path goes away after the next release", DeprecationWarning, stacklevel=2)

__all__ = ['sample_surface_points', 'chamfer_distance', 'f_score', 'match_parts', 'part_metrics', 'SceneNormalization', *_pretraining_all]
