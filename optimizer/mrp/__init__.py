"""Multi-level material requirements planning: BOM graph, gross-to-net, lot sizing, explosion, pegging, exceptions."""
