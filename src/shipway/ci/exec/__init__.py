"""Where CI steps run: one interface (``base``), three implementations (``host``,
``podman``, ``kubernetes``). CI syntaxes import ``shipway.ci.exec.base`` only."""
