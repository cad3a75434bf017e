"""The one training loop, its config, and recipes."""

from soundart.train.config import TrainConfig
from soundart.train.loop import StepBatchSampler, Trainer, lr_factor
from soundart.train.recipe import Prepared, Recipe, Task, load_recipe, run_recipe

__all__ = ["TrainConfig", "Trainer", "StepBatchSampler", "lr_factor", "Prepared", "Recipe", "Task",
           "load_recipe", "run_recipe"]
