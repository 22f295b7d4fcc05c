"""The reconciler: render, diff, health, sync, history, rollback."""
