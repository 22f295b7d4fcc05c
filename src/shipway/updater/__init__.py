"""Image update automation: new images land in the config repo, by commit or pull request.

Pure cores: ``policy`` (pick a tag) and ``edit`` (rewrite YAML byte for byte).
Reading configuration: ``targets`` (Argo CD Image Updater annotations, Flux
image automation). Triggers: ``webhooks`` (registry push payloads). Adapters
used by the engine: ``resolve`` (registry look-ups, ``ratelimit``),
``writeback`` (git commit and push, ``gitauth``), ``pullrequest`` (forges),
``template`` (commit messages). ``engine``: ``on_push`` and ``run_once``.
"""
