"""Moved public names keep working for one release, with a DeprecationWarning that names the
new home; removed ones say what to use instead."""

import pytest

import morphax.physics as mp
from morphax.learners import meta_pde
from morphax.physics import ReactionDiffusion


@pytest.mark.parametrize(("old", "new"), [
    ("PoissonTask", meta_pde.PoissonTask), ("relative_mse", meta_pde.relative_mse),
    ("sample_burgers_tasks", meta_pde.sample_burgers_tasks),
    ("MetaNeoHookean", mp.IsochoricNeoHookean), ("rd_step", ReactionDiffusion.step),
    ("RD_NUM_PARAMS", 7)])
def test_moved_names_warn_and_resolve(old, new):
    with pytest.warns(DeprecationWarning, match=old):
        assert getattr(mp, old) == new


def test_unknown_and_removed_names():
    with pytest.raises(AttributeError, match="no attribute"):
        mp.no_such_name  # noqa: B018
    with pytest.raises(AttributeError, match="Source"):
        mp.StarPoisson  # noqa: B018
