"""Image update automation: pick a tag (policy), rewrite YAML (edit), commit or open a PR (engine)."""
