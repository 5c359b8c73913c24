"""Dependent demand: parents' planned order releases × qty_per / (1 − scrap_rate), added to components' gross
requirements in the release period, respecting each BOM line's validity.

Public interface
- `BomLevels.build(inputs)`: the BOM lines grouped by their parent's low-level code, as one scipy.sparse matrix per
  level (lines valid over the whole horizon) plus the few lines with a validity window.
- `BomLevels.explode(level, releases, gross)`: add the dependent demand of that level's parents to `gross`
  (items × periods) in place.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from optimizer.mrp.inputs import MrpInputs

__all__ = ["BomLevels"]


@dataclass(frozen=True)
class _Level:
    parents: np.ndarray  # item indices of the parents with undated lines
    components: np.ndarray  # item indices of their components
    matrix: sp.csr_matrix  # components × parents, entries qty_per / (1 − scrap)
    dated: np.ndarray  # BOM line indices with a validity window inside the horizon


@dataclass(frozen=True)
class BomLevels:
    """BOM lines per parent low-level code, ready for one sparse product per level."""

    levels: dict[int, _Level]
    inputs: MrpInputs

    @classmethod
    def build(cls, inputs: MrpInputs) -> BomLevels:
        parent_level = inputs.level[inputs.bom_parent]
        whole = (inputs.bom_first <= 0) & (inputs.bom_last >= inputs.n_periods - 1)
        levels: dict[int, _Level] = {}
        order = np.argsort(parent_level, kind="stable")
        bounds = np.searchsorted(parent_level[order], np.arange(int(inputs.level.max(initial=0)) + 2))
        for level in range(len(bounds) - 1):
            lines = order[bounds[level] : bounds[level + 1]]
            if lines.size == 0:
                continue
            plain = lines[whole[lines]]
            parents, p_inv = np.unique(inputs.bom_parent[plain], return_inverse=True)
            components, c_inv = np.unique(inputs.bom_component[plain], return_inverse=True)
            matrix = sp.csr_matrix(
                (inputs.bom_factor[plain], (c_inv, p_inv)), shape=(len(components), len(parents))
            )  # duplicate lines (same parent and component) add up
            levels[level] = _Level(parents, components, matrix, lines[~whole[lines]])
        return cls(levels, inputs)

    def explode(self, level: int, releases: np.ndarray, gross: np.ndarray) -> None:
        """gross[component, t] += Σ_lines releases[parent, t] · factor over the lines of this level valid in t."""
        block = self.levels.get(level)
        if block is None:
            return
        if block.parents.size:
            gross[block.components] += block.matrix @ releases[block.parents]
        if block.dated.size:
            inputs = self.inputs
            lines = block.dated
            periods = np.arange(inputs.n_periods)
            valid = (periods >= inputs.bom_first[lines, None]) & (periods <= inputs.bom_last[lines, None])
            contribution = releases[inputs.bom_parent[lines]] * inputs.bom_factor[lines, None] * valid
            np.add.at(gross, inputs.bom_component[lines], contribution)
