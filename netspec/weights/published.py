"""``weights: imagenet``: the published ImageNet weights of a zoo network, found in
the usual caches and verified against their published hash. Nothing is
downloaded: a missing file is a diagnostic naming it and where to get it.

Caches searched, in order: ``$NETSPEC_WEIGHTS``, ``~/.keras/models`` (where
``keras.applications`` keeps its downloads), ``~/.cache/torch/hub/checkpoints``
(torchvision's). File names, URLs and hashes are those in
``keras/src/applications/{vgg16,vgg19,resnet,inception_v3,xception,densenet}.py`` (MD5) and torchvision's
model definitions (the first 8 hex digits of the SHA-256 in the file name).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from netspec.diagnostics import NetspecError, Span, error

KERAS = "https://storage.googleapis.com/tensorflow/keras-applications/"
TORCH = "https://download.pytorch.org/models/"


@dataclass(frozen=True)
class Published:
    file: str
    url: str
    digest: str          # md5 hex (Keras) or the sha256 prefix (torchvision)
    algorithm: str       # "md5" | "sha256-prefix"


def _keras(folder: str, stem: str, full: str, notop: str) -> dict[bool, Published]:
    return {top: Published(f"{stem}{'' if top else '_notop'}.h5", f"{KERAS}{folder}/{stem}"
                           f"{'' if top else '_notop'}.h5", digest, "md5")
            for top, digest in ((True, full), (False, notop))}


def _torch(file: str) -> dict[bool, Published]:
    digest = file.rsplit("-", 1)[1].split(".")[0]
    entry = Published(file, TORCH + file, digest, "sha256-prefix")
    return {True: entry, False: entry}  # one file; a base network takes the layers it has


# spec name -> {with top layers: file}
PUBLISHED: dict[str, dict[bool, Published]] = {
    "vgg16": _keras("vgg16", "vgg16_weights_tf_dim_ordering_tf_kernels", "64373286793e3c8b2b4e3219cbf3544b",
                    "6d6bbae143d832006294945121d1f1fc"),
    "vgg19": _keras("vgg19", "vgg19_weights_tf_dim_ordering_tf_kernels", "cbe5617147190e668d6c5d5026f83318",
                    "253f8cb515780f3b799900260a226db6"),
    "resnet50": _keras("resnet", "resnet50_weights_tf_dim_ordering_tf_kernels", "2cb95161c43110f7111970584f804107",
                       "4d473c1dd8becc155b73f8504c6f6626"),
    "resnet101": _keras("resnet", "resnet101_weights_tf_dim_ordering_tf_kernels",
                        "f1aeb4b969a6efcfb50fad2f0c20cfc5", "88cf7a10940856eca736dc7b7e228a21"),
    "resnet152": _keras("resnet", "resnet152_weights_tf_dim_ordering_tf_kernels",
                        "100835be76be38e30d865e96f2aaae62", "ee4c566cf9a93f14d82f913c2dc6dd0c"),
    "inception_v3": _keras("inception_v3", "inception_v3_weights_tf_dim_ordering_tf_kernels",
                           "9a0d58056eeedaa3f26cb7ebd46da564", "bcbd6486424b2319ff4ef7d526e38f63"),
    "xception": _keras("xception", "xception_weights_tf_dim_ordering_tf_kernels", "0a58e3b7378bc2990ea3b43d5981f1f6",
                       "b0042744bf5b25fce3cb969f33bebb97"),
    "densenet121": _keras("densenet", "densenet121_weights_tf_dim_ordering_tf_kernels",
                          "9d60b8095a5708f2dcce2bca79d332c7", "30ee3e1110167f948a6b9946edeeb738"),
    "resnet18": _torch("resnet18-f37072fd.pth"),
    "resnet34": _torch("resnet34-b627a593.pth"),
    "alexnet": _torch("alexnet-owt-7be5be79.pth"),
}
# Keras publishes MobileNet(V2) files per alpha and input size with no hash, and EfficientNet's under
# another naming scheme; they are not listed (give the file's path instead of `imagenet`).


def cache_folders() -> list[Path]:
    folders = [Path(os.environ["NETSPEC_WEIGHTS"])] if os.environ.get("NETSPEC_WEIGHTS") else []
    return folders + [Path.home() / ".keras" / "models", Path.home() / ".cache" / "torch" / "hub" / "checkpoints"]


def file_digest(path: Path, algorithm: str) -> str:
    digest = hashlib.md5(usedforsecurity=False) if algorithm == "md5" else hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def published_weights(network: str, *, top: bool, span: Span | None = None) -> Path:
    """The verified cached file of ``network``'s ImageNet weights (``top``: with its classifier)."""
    entry = PUBLISHED.get(network, {}).get(top)
    if entry is None:
        raise NetspecError([error("weights-unknown", f"weights: imagenet: netspec knows no published weights "
                                                     f"for '{network}'", span,
                                  hint=f"known: {', '.join(sorted(PUBLISHED))}; or give a file path")])
    folders = cache_folders()
    for folder in folders:
        path = folder / entry.file
        if path.is_file():
            found = file_digest(path, entry.algorithm)
            if not found.startswith(entry.digest):
                raise NetspecError([error(
                    "weights-hash", f"{path} does not have the published hash ({entry.algorithm} {entry.digest}, "
                                    f"found {found[:32]})", span,
                    hint=f"the file is damaged or another file; download it again from {entry.url}")])
            return path
    raise NetspecError([error(
        "weights-not-cached", f"weights: imagenet needs {entry.file}, which is in none of "
                              f"{', '.join(str(f) for f in folders)}", span,
        hint=f"netspec downloads nothing: get it from {entry.url} into one of those folders "
             "(or set $NETSPEC_WEIGHTS to its folder)")])
