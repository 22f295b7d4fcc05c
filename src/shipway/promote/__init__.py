"""Promotion through stages: Kargo's Warehouses and Freight so far.

- ``freight``: a Freight's content-hash name, alias and document (pure);
- ``select``: what a Warehouse subscription selects (pure, on the updater's tag policies);
- ``warehouse``: discovery against registries and git, Freight creation, push and poll triggers;
- ``checks``: apply-time checks across Stages, tasks, Warehouses and analysis templates (pure).

Stages, promotion steps, gates and rollback are not built yet.
"""
