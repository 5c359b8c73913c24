"""Inventory policies, supplier reliability, multi-sourcing, CP-SAT scheduling and replay simulation."""
