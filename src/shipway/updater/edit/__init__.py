"""YAML edits that keep every byte but the changed scalars. Pure: no I/O.

- ``kustomize.set_image``: a kustomization's ``images:`` entry.
- ``helm.set_values``: dotted keys in a Helm values file.
- ``markers.apply``: Flux ``$imagepolicy`` setter markers in any YAML.
- ``argocd_source.set_images``: the ``.argocd-source-<app>.yaml`` override file.
Each returns the new text and a list of ``yamltext.Change``.
"""
