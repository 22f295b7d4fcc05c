"""Git adapters: local repositories through the git CLI, forges, webhook payloads.

Every failure of git becomes ``GitError`` naming the repository here.
"""
