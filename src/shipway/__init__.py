"""shipway: GitOps CI/CD from a commit to a running, verified deployment.

Package map (see DESIGN.md at the steering repo for the long form):

- ``model``: pure resource kinds, the release record and the error tree.
- ``ci``, ``images``, ``git``, ``updater``, ``deploy``, ``cluster``: one stage each.
- ``store``: SQLAlchemy persistence; ``controller``: event wiring;
  ``server``: HTTP receivers; ``cli`` and ``demo``: front ends.
"""

__version__ = "0.1.0"
