"""Multi-level material requirements planning: BOM graph, gross-to-net, lot sizing, explosion, pegging, exceptions.

Modules (import what you need; the package itself imports nothing):
- `graph`: `find_cycle(parents, components)`, `low_level_codes(...)`, `BomCycleError`.
- `inputs`: `MrpInputs.from_frames(items, bom, demand, inventory, open_orders, plan_date)`, `MrpInputError`.
- `engine`: `plan(inputs, MrpOptions) -> MrpResult` (planners' grid, planned orders, record/where-used/components).
- `lot_sizing`: vectorized netting and lot rules (lot-for-lot, fixed, MOQ + multiple, POQ, Wagner–Whitin).
- `explode`: dependent demand per low-level code with scipy.sparse.
- `pegging`: FIFO pegging up to the end-item demands; `exceptions`: expedite, reschedule, cancel, past due,
  blocked customer orders; `checks`: the plan invariants; `files`: the CSV/Parquet file form.
"""

__all__: list[str] = []
