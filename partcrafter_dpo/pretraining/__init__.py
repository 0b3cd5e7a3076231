"""Pretraining of the small PartCrafter bundled as the package's default model (notebooks `nbs/pretraining/`): the
training `data`, the `small_model` size, the `config`, the training `infrastructure`, the `vae_stage` and `dit_stage`,
the exported `bundle` and the `recipe` that runs them (`partcrafter-dpo pretrain`)."""
# Written by hand (not exported from a notebook): the public names of the sub-modules, importable from the package.
from .data import *
from .small_model import *
from .config import *
from .infrastructure import *
from .vae_stage import *
from .dit_stage import *
from .bundle import *
from .recipe import *
from . import data, small_model, config, infrastructure, vae_stage, dit_stage, bundle, recipe

__all__ = [n for m in (data, small_model, config, infrastructure, vae_stage, dit_stage, bundle, recipe) for n in m.__all__ if n != 'log']
