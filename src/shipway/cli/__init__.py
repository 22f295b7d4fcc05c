"""The ``shipway`` command: kubectl/argocd conventions, ``-o json|yaml`` everywhere.

Front end only: commands parse arguments, call engines or the store, and
render results. Exit codes: 0 success, 1 failure of the work itself (a failed
run, a diff found), 2 bad input, 3 not found, 4 conflict, 5 external system.
"""
