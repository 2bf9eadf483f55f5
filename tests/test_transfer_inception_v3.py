"""examples/transfer_inception_v3: the lectures' InceptionV3 transfer variant (base up to mixed10,
GlobalAveragePooling + Dense(1024) head, frozen base, then the top two inception blocks fine-tuned).

The trainable counts are Keras' own (keras 3.15.1): ``InceptionV3(weights=None, include_top=False)``
plus ``GlobalAveragePooling2D``, ``Dense(1024, relu)``, ``Dense(2, softmax)``, counting
``model.trainable_weights`` with every base layer frozen (stage 1), then with
``model.layers[:249]`` frozen (stage 2, the Keras documentation's "top 2 inception blocks").
"""

from __future__ import annotations

from conftest import ROOT
from test_build import assert_static_equals_compiled

from netspec.cli import main
from netspec.pipeline import analysis_of, load
from netspec.resolve.select import frozen_layers

EXAMPLE = ROOT / "examples" / "transfer_inception_v3"
KERAS_TOTAL = 23_903_010
KERAS_TRAINABLE = {"transfer.yaml": 2_100_226, "finetune.yaml": 13_215_106}


def trainable_after_freeze(name: str) -> int:
    graph = load(EXAMPLE / name)
    frozen = set(frozen_layers(graph, graph.train.freeze))
    return sum(facts.trainable_params for layer, facts in analysis_of(graph).layers.items() if layer not in frozen)


def test_the_example_checks_clean(capsys):
    assert main(["check", str(EXAMPLE / "transfer.yaml"), str(EXAMPLE / "finetune.yaml")]) == 0
    assert "2 of 2 spec(s) clean" in capsys.readouterr().out


def test_the_network_is_inception_v3_up_to_mixed10_then_the_lectures_head():
    graph = load(EXAMPLE / "transfer.yaml")
    names = [node.name for node in graph.nodes]
    assert names[:3] == ["input", "preprocess", "conv2d"]  # Keras' "tf" preprocessing, in the graph
    base = graph.meta["base"]
    assert base["up_to"] == "mixed10" and base["weights"] == "imagenet" and base["layers"][-1] == "mixed10"
    assert names[names.index("mixed10") + 1:] == ["global_average_pooling2d", "dense", "predictions_new"]
    analysis = analysis_of(graph)
    assert analysis.layers["mixed10"].output_shape == (8, 8, 2048)
    assert analysis.total_params == KERAS_TOTAL
    assert analysis.output.output_shape == (2,)


def test_each_stage_trains_what_keras_trains():
    transfer = load(EXAMPLE / "transfer.yaml")
    assert frozen_layers(transfer, transfer.train.freeze)[-1] == "mixed10"  # the whole base, nothing after
    for name, trainable in KERAS_TRAINABLE.items():
        assert trainable_after_freeze(name) == trainable, name
    finetune = load(EXAMPLE / "finetune.yaml")
    assert finetune.train.optimizer.name == "sgd" and finetune.train.optimizer.lr == 1e-4
    assert finetune.train.optimizer.momentum == 0.9


def test_the_small_scale_builds_with_its_static_shapes_and_counts():
    graph = load(EXAMPLE / "transfer.yaml", scale="small")
    assert graph.input_shape == (75, 75, 3)
    assert analysis_of(graph).layers["mixed10"].output_shape == (1, 1, 2048)
    assert_static_equals_compiled(graph)


def test_without_the_imagenet_file_import_names_it_and_writes_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("NETSPEC_WEIGHTS", raising=False)
    monkeypatch.chdir(tmp_path)
    assert main(["weights", "import", str(EXAMPLE / "transfer.yaml"), "--out", "run"]) == 1
    err = capsys.readouterr().err
    assert "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5" in err
    assert "keras-applications/inception_v3/" in err
    assert not (tmp_path / "run").exists()
