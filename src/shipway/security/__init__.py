"""Supply-chain security: SBOMs, offline vulnerability scans, signatures and policy gates (issue 16)."""
