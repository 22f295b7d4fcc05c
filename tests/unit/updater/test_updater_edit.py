"""YAML edits keep every byte but the changed scalars."""

from __future__ import annotations

import pytest

from shipway.model.errors import InputError
from shipway.updater.edit import argocd_source, helm, kustomize, markers

KUST = (
    "# overlay for dev\r\n"
    "apiVersion: kustomize.config.k8s.io/v1beta1\r\n"
    "kind: Kustomization\r\n"
    "resources:\r\n"
    "    - ../../base   # the base\r\n"
    "images:\r\n"
    "    - name: other\r\n"
    "      newTag: keep\r\n"
    "    - name: hello  # app\r\n"
    "      newName: 'old.example/hello'\r\n"
    '      newTag: "1.0"   # pinned by hand\r\n'
    "labels: {a: b}\r\n"
)
DIGEST = "sha256:" + "a" * 64


def test_kustomize_changes_only_the_scalars() -> None:
    out, changes = kustomize.set_image(
        KUST, "k.yaml", "hello", new_name="127.0.0.1:5000/demo/hello", new_tag="1.1", digest=DIGEST
    )
    want = KUST.replace("'old.example/hello'", "'127.0.0.1:5000/demo/hello'").replace(
        '"1.0"   # pinned by hand\r\n', f'"1.1"   # pinned by hand\r\n      digest: {DIGEST}\r\n'
    )
    assert out == want
    assert [(c.key, c.old, c.new, c.line) for c in changes][:2] == [
        ("images[hello].newName", "old.example/hello", "127.0.0.1:5000/demo/hello", 10),
        ("images[hello].newTag", "1.0", "1.1", 11),
    ]
    again, none = kustomize.set_image(
        out, "k.yaml", "hello", new_name="127.0.0.1:5000/demo/hello", new_tag="1.1", digest=DIGEST
    )
    assert again == out and none == []


def test_kustomize_adds_entry_and_section() -> None:
    out, _ = kustomize.set_image(
        "kind: Kustomization\nimages:\n- name: a\n  newTag: x\n", "k", "b", digest=DIGEST
    )
    assert (
        out
        == f"kind: Kustomization\nimages:\n- name: a\n  newTag: x\n- name: b\n  digest: {DIGEST}\n"
    )
    out, _ = kustomize.set_image("kind: Kustomization", "k", "b", new_tag="1")
    assert out == 'kind: Kustomization\nimages:\n- name: b\n  newTag: "1"\n'
    out, _ = kustomize.set_image(
        "images:\n- {name: b, newTag: '1'}\n", "k", "b", new_tag="2", digest=DIGEST
    )
    assert out == f"images:\n- {{name: b, newTag: '2', digest: {DIGEST}}}\n"


def test_kustomize_errors_carry_file_and_line() -> None:
    with pytest.raises(InputError) as err:
        kustomize.set_image("kind: K\nimages: 3\n", "o/k.yaml", "b", new_tag="1")
    assert err.value.subject == "o/k.yaml:2"
    with pytest.raises(InputError) as err:
        kustomize.set_image("kind: K\n  bad: [\n", "o/k.yaml", "b", new_tag="1")
    assert err.value.file == "o/k.yaml" and err.value.line is not None


def test_helm_values_dotted_keys() -> None:
    text = "image:\n  repository: x/y   # repo\n  tag: '1.0'\nreplicas: 2\n"
    out, changes = helm.set_values(text, "v.yaml", {"image.tag": "1.1", "image.repository": "r/y"})
    assert out == "image:\n  repository: r/y   # repo\n  tag: '1.1'\nreplicas: 2\n"
    assert {c.key for c in changes} == {"image.tag", "image.repository"}
    with pytest.raises(InputError) as err:
        helm.set_values(text, "v.yaml", {"image.digest": "x"})
    assert err.value.subject == "v.yaml:1"


def test_helm_empty_value_gets_written() -> None:
    out, _ = helm.set_values("image:\n  tag:\n  x: 1\n", "v", {"image.tag": "1.2.0"})
    assert out == "image:\n  tag: 1.2.0\n  x: 1\n"


MANIFEST = """apiVersion: apps/v1
kind: Deployment
spec:
  template:
    spec:
      containers:
        - name: app
          image: ghcr.io/org/app:1.0.0 # {"$imagepolicy": "flux-system:app"}
          env:
            - name: TAG
              value: "1.0.0" # {"$imagepolicy": "flux-system:app:tag"}
            - name: REPO
              value: ghcr.io/org/app # {"$imagepolicy": "flux-system:app:name"}
        - name: side
          image: other:1 # {"$imagepolicy": "flux-system:other"}
---
list:
  - ghcr.io/org/app:1.0.0 # {"$imagepolicy": "flux-system:app"}
"""


def test_markers_rewrite_only_marked_scalars() -> None:
    pick = markers.Pick("ghcr.io/org/app", "1.1.0", DIGEST)
    out, changes = markers.apply(MANIFEST, "d.yaml", {"flux-system:app": pick})
    assert out == MANIFEST.replace("app:1.0.0", "app:1.1.0").replace('"1.0.0"', '"1.1.0"')
    assert [c.line for c in changes] == [8, 11, 18]
    pinned = markers.Pick("ghcr.io/org/app", "1.1.0", DIGEST, pin_digest=True)
    out, _ = markers.apply(MANIFEST, "d.yaml", {"flux-system:app": pinned})
    assert f"app:1.1.0@{DIGEST} #" in out


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ('a: 1\nb: x # {"$imagepolicy": "no-namespace"}\n', 2),
        ('a: 1\nb: x # {"$imagepolicy": flux:app}\n', 2),
        ('a:\n  b: x\n# {"$imagepolicy": "ns:app"}\n', 3),
    ],
)
def test_bad_markers_name_the_line(text: str, line: int) -> None:
    with pytest.raises(InputError) as err:
        markers.apply(text, "m.yaml", {"ns:app": markers.Pick("i", "t")})
    assert err.value.file == "m.yaml" and err.value.line == line


def test_argocd_source_file() -> None:
    out, ch = argocd_source.set_kustomize_image("", "f", "hello", f"r/hello@{DIGEST}")
    assert out == f"kustomize:\n  images:\n  - hello=r/hello@{DIGEST}\n" and ch
    out2, ch = argocd_source.set_kustomize_image(out, "f", "hello", f"r/hello@{DIGEST}")
    assert out2 == out and ch == []
    out3, _ = argocd_source.set_kustomize_image(out, "f", "hello", "r/hello:2")
    assert "hello=r/hello:2" in out3 and DIGEST not in out3
    p, _ = argocd_source.set_helm_parameters("", "f", {"image.tag": "1.2"})
    assert "name: image.tag" in p and "forcestring: true" in p


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("images: []\n", f"images: [{{name: b, digest: {DIGEST}}}]\n"),
        ("images:\n- name: b", f"images:\n- name: b\n  digest: {DIGEST}\n"),
        (
            "# é ünïcode\nimages:\n- name: b   # ✓\n",
            f"# é ünïcode\nimages:\n- name: b   # ✓\n  digest: {DIGEST}\n",
        ),
        ("images:\n  - {name: b }\n", f"images:\n  - {{name: b , digest: {DIGEST}}}\n"),
        (
            "images:\n- name: b\n  newTag:\n",
            f'images:\n- name: b\n  newTag: "2"\n  digest: {DIGEST}\n',
        ),
    ],
)
def test_kustomize_edge_shapes(text: str, want: str) -> None:
    out, _ = kustomize.set_image(
        text, "k", "b", new_tag="2" if "newTag" in text else None, digest=DIGEST
    )
    assert out == want


def test_markers_on_sequence_items_and_untouched_policies() -> None:
    text = 'images:\n  - "r/a:1" # {"$imagepolicy": "ns:a"}\n  - r/b:1 # {"$imagepolicy": "ns:b"}\n'
    out, changes = markers.apply(text, "m", {"ns:a": markers.Pick("r/a", "2")})
    assert (
        out
        == 'images:\n  - "r/a:2" # {"$imagepolicy": "ns:a"}\n  - r/b:1 # {"$imagepolicy": "ns:b"}\n'
    )
    assert [c.line for c in changes] == [2]


def test_kustomize_pinning_keeps_an_existing_tag_in_step_but_adds_none() -> None:
    text = "images:\n- name: other\n  newTag: x\n- name: b\n"
    out, _ = kustomize.set_image(
        text, "k", "b", new_tag="2", digest=DIGEST, tag_only_if_present=True
    )
    assert out == f"images:\n- name: other\n  newTag: x\n- name: b\n  digest: {DIGEST}\n"
    tagged = "images:\n- name: b\n  newTag: '1'\n"
    out, _ = kustomize.set_image(
        tagged, "k", "b", new_tag="2", digest=DIGEST, tag_only_if_present=True
    )
    assert out == f"images:\n- name: b\n  newTag: '2'\n  digest: {DIGEST}\n"
