"""Supply-chain security: SBOMs, offline vulnerability scans, signatures, policy gates."""
