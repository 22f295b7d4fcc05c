"""Image update automation.

Pick a tag (policy), rewrite YAML (edit), commit or open a pull request (engine).
"""
