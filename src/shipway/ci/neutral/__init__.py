"""The format-neutral plan and its one scheduler. Pure: no I/O.

- ``model``: ``Plan``, ``Node``, ``Step``, ``Edge``, ``Condition`` (with ``where``).
- ``scheduler``: ``State`` (persisted by the engines), ``decide``/``settle`` and the
  ``Rules`` interface a syntax's skip rules implement.
- ``evaluator``: the ``Evaluator`` interface (substitution and conditions).
- ``github``, ``tekton``, ``gitlab``: each syntax's compiler into a ``Plan``, its
  ``Evaluator`` and its ``Rules``.
"""
