"""One plan lifecycle for every kind of plan: create → run (in a job or in the CLI process) → store in one
transaction → publish (status done) → compare with the previous plan of the same kind → reschedule / repair.

The CLI (`leanplan plan …`), the API (`POST /v1/plans`) and the job worker all go through `service.planning.lifecycle`;
a plan kind (replenishment, production, the combined `plan`, …) is a `PlanKind` in `service.planning.kinds`.

Public interface: `lifecycle` (`create`, `run`, `compute_now`, `enqueue`, `new_plan_id`), `kinds` (`PlanKind`,
`register`, `get_kind`, `KINDS`), `computed` (`ComputedPlan`, `Progress`), `changes` (`against_previous`),
`reschedule` (`reschedule_plan`, `RushOrder`, `LineBreakdown`).
"""
