"""Production scheduling with CP-SAT: net requirements → production orders → a schedule of the lines.

Modules (each lists its own public interface):

- `problem`: the engine's input (`Problem`: jobs of operations on alternative machines, setups by family,
  unavailable periods, release/due/deadline, fixed operations), `Schedule`, `validate`, `violations`.
- `model`: `build_model(problem) -> (CpModel, ModelVars)` — the CP-SAT formulation, inspectable without solving.
- `heuristic`: dispatching rules (the solver's starting hint), right-shift and gap-insertion repairs.
- `lns`: large-neighbourhood search over time windows for plant-size problems.
- `solve`: `solve(problem, SolveOptions) -> Result` (status, objective, best bound, gap, wall time, schedule).
- `extract`: solver values → `Schedule` with the real changeover times.
- `requirements`: net requirements of 'make' SKUs → lot-sized production orders with release and due dates.
- `calendar`: shift calendars and downtime → unavailable periods in minutes.
- `plant`: plant tables + orders → `Problem` (and back via `PlantIndex`).
- `reschedule`: repair after a breakdown or a rush order with minimal moves, and why each operation moved.
- `report`: schedule table, KPIs, CSV/XLSX, Gantt data.
- `benchmarks`: FJSPLIB (.fjs) and JSPLIB readers, `run_benchmark`; `factory_bench`: the sample-plant benchmark.
"""

from optimizer.schedule.problem import (
    Assignment,
    Fixed,
    Job,
    Operation,
    Problem,
    Schedule,
    ScheduleInputError,
    validate,
    violations,
)
from optimizer.schedule.solve import Result, SolveOptions, solve

__all__ = [
    "Assignment",
    "Fixed",
    "Job",
    "Operation",
    "Problem",
    "Result",
    "Schedule",
    "ScheduleInputError",
    "SolveOptions",
    "solve",
    "validate",
    "violations",
]
