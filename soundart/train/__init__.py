"""The one training loop, its config, and recipes; ``soundart.train(recipe)`` trains one.

``soundart.train`` names both this package and the API function ``soundart.train.api.train``: once any
``soundart.train.*`` module is imported, Python binds the package to that name on ``soundart``, so the
package itself is made callable (it calls the function) and ``soundart.train(recipe)`` works either way.
"""

import sys
import types

from soundart.train.config import TrainConfig
from soundart.train.loop import StepBatchSampler, Trainer, lr_factor
from soundart.train.recipe import Prepared, Recipe, Task, TrainResult, fit_recipe, load_recipe, run_recipe

__all__ = ["TrainConfig", "Trainer", "StepBatchSampler", "lr_factor", "Prepared", "Recipe", "Task", "TrainResult",
           "fit_recipe", "load_recipe", "run_recipe"]


class _CallablePackage(types.ModuleType):
    def __call__(self, *args, **kwargs):
        from soundart.train.api import train

        return train(*args, **kwargs)


sys.modules[__name__].__class__ = _CallablePackage
