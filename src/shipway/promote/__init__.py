"""Promotion through stages: Kargo's Warehouses, Freight, promotion steps and the runner.

- ``freight``: a Freight's content-hash name, alias and document (pure);
- ``select``: what a Warehouse subscription selects (pure, on the updater's tag policies);
- ``warehouse``: discovery against registries and git, Freight creation, push and poll triggers;
- ``checks``: apply-time checks across Stages, tasks, Warehouses and analysis templates (pure).
- ``steps``: Kargo's promotion steps, one module per family
  (configs in ``model.kargo_step_configs``);
- ``plan``, ``expressions``, ``status``, ``promotion``: the pure parts of a promotion
  (steps flattened, ``${{ }}`` context, Kargo's status shapes, naming);
- ``runner``: the resumable promotion state machine; ``credentials``: Secrets it reads.
- gates: ``analysis`` (Argo Rollouts' measurement rules), ``gates`` (soak,
  availability, promotion windows, approval policies) and ``autopolicy`` (which
  Freight auto-promotion takes) are pure; ``providers`` (web, prometheus, job),
  ``verification`` (the AnalysisRun state machine), ``start`` (the gates every
  promotion passes), ``approvals``, ``records`` (Stage/Freight status writers,
  the Freight's journey) and ``lifecycle`` (what follows a promotion or a
  verification: rollback, auto-promotion; the controller's tick).
"""
