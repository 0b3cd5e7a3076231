"""Old import path of the pretraining, kept for one release: its code now lives in the `partcrafter_dpo.pretraining`
sub-package (one module per job) and the shape metrics in `partcrafter_dpo.geometry`. This module re-exports their
public names, and under their old names `EvalConfig` (now `BundleEvalConfig`), `save_checkpoint` and `load_checkpoint`
(now `save_state_file` and `load_state_file`); import from there, by the new names, instead."""
# Written by hand (not exported from a notebook): remove after the next release.
import warnings

from .geometry import sample_surface_points, chamfer_distance, f_score, match_parts, part_metrics, SceneNormalization
from .pretraining import *
from .pretraining import __all__ as _pretraining_all
from .pretraining.config import BundleEvalConfig as EvalConfig                      # old names of renamed pretraining code
from .pretraining.infrastructure import save_state_file as save_checkpoint, load_state_file as load_checkpoint

warnings.warn("partcrafter_dpo.pretrain moved to partcrafter_dpo.pretraining (and its shape metrics to partcrafter_dpo.geometry); "
              "the old path goes away after the next release", DeprecationWarning, stacklevel=2)

__all__ = ['sample_surface_points', 'chamfer_distance', 'f_score', 'match_parts', 'part_metrics', 'SceneNormalization', 'EvalConfig', 'save_checkpoint', 'load_checkpoint',
           *_pretraining_all]
