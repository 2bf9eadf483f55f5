"""The model zoo (specs/) and the lecture examples (examples/).

Every spec file is checked clean; for the known ones three independently
obtained parameter counts must agree — the published figure, the plain-Python
reference in ``reference_counts`` and netspec's static inference — and the
shapes the references print (GoogLeNet's Table 1, the seeds' Keras
``model.summary()`` tables, the ResNet stages, receptive fields) must be
reproduced exactly.
"""

from __future__ import annotations

import json
import subprocess
import sys
from functools import cache

import pytest
import reference_counts as reference
from conftest import ROOT, SPECS

from netspec.infer.facts import Analysis, LayerFacts
from netspec.pipeline import Checked, check_file, load

SPEC_FILES = [path.relative_to(ROOT).as_posix() for path in SPECS]

# Warnings a spec is allowed to have, because it reproduces a reference that
# really behaves so; each such file explains them in its header comment.
# path -> {warning code: count}.
EXPECTED_WARNINGS: dict[str, dict[str, int]] = {
    # every zoo file checks clean; the Keras stems skip only zero padding, which is no unseen input
    # (tested in test_keras_stems_lose_only_padding).
}


@cache
def checked(path: str) -> Checked:
    return check_file(ROOT / path)


def analysis_of(path: str) -> Analysis:
    result = checked(path)
    assert result.ok and result.analysis is not None, "\n".join(d.message for d in result.errors)
    return result.analysis


def output_of(analysis: Analysis, name: str) -> LayerFacts:
    """The facts of the node ``name``, or of the last node inside the block named ``name``."""
    if name in analysis.layers:
        return analysis.layers[name]
    inside = [facts for node_name, facts in analysis.layers.items() if node_name.startswith(name + "/")]
    assert inside, f"no node or block named {name!r}; nodes: {list(analysis.layers)[:20]}..."
    return inside[-1]


def test_the_zoo_is_complete():
    expected = {*reference.REFERENCE, "specs/googlenet.yaml", "specs/tcn.yaml"}
    assert expected <= set(SPEC_FILES)


# --- every file ------------------------------------------------------------------


@pytest.mark.parametrize("path", SPEC_FILES)
def test_spec_checks_clean(path):
    result = checked(path)
    assert result.errors == [], "\n".join(f"{d.span}: {d.message}" for d in result.errors)
    warnings: dict[str, int] = {}
    for diagnostic in result.diagnostics:
        warnings[diagnostic.code] = warnings.get(diagnostic.code, 0) + 1
    assert warnings == EXPECTED_WARNINGS.get(path, {}), [d.message for d in result.diagnostics]
    if path in EXPECTED_WARNINGS:
        assert "Expected warning" in (ROOT / path).read_text(), f"{path} must say why it warns"


@pytest.mark.parametrize("path", SPEC_FILES)
def test_spec_loads(path):
    graph = load(ROOT / path)
    assert graph.meta["analysis"].total_params == checked(path).analysis.total_params
    assert len(graph.meta["warnings"]) == sum(EXPECTED_WARNINGS.get(path, {}).values())


@pytest.mark.parametrize("path", SPEC_FILES)
def test_spec_states_what_it_is(path):
    graph = checked(path).graph
    assert graph is not None
    assert graph.description, f"{path} needs a description:"
    assert graph.reference, f"{path} needs a reference: naming what it reproduces"


# --- parameter counts: published == reference == netspec --------------------------


@pytest.mark.parametrize("path", sorted(reference.PUBLISHED))
def test_netspec_counts_match_the_published_figure(path):
    source, trainable, non_trainable = reference.PUBLISHED[path]
    analysis = analysis_of(path)
    assert analysis.trainable_params == trainable, source
    if non_trainable is not None:
        assert analysis.non_trainable_params == non_trainable, source


@pytest.mark.parametrize("path", sorted(reference.REFERENCE))
def test_netspec_counts_match_the_reference(path):
    analysis = analysis_of(path)
    counts = reference.REFERENCE[path]
    assert (analysis.trainable_params, analysis.non_trainable_params) == (
        counts.trainable, counts.non_trainable)
    assert analysis.total_params == counts.total


@pytest.mark.parametrize("path", sorted(reference.REFERENCE))
def test_reference_key_quotes_the_count(path):
    """The spec's ``reference:`` states the figure it reproduces (total or, for torchvision, trainable)."""
    counts = reference.REFERENCE[path]
    stated = checked(path).graph.reference
    assert f"{counts.total:,}" in stated or f"{counts.trainable:,}" in stated, stated


OUTPUT_SHAPES = {
    **{path: (1000,) for path in reference.REFERENCE if path.startswith("specs/") and path != "specs/tcn.yaml"},
    "specs/lenet.yaml": (10,),
    "specs/tcn.yaml": (64, 1),
    "examples/cifar10_convnet.yaml": (10,),
    "examples/cats_vs_dogs.yaml": (1,),
    "examples/mnist_batchnorm.yaml": (10,),
    "examples/mnist_fcnn.yaml": (10,),
    "examples/mnist_cnn1.yaml": (10,),
    "examples/lenet_keras.yaml": (10,),
    "examples/causal_conv_toy.yaml": (3, 1),
    "examples/dilated_causal.yaml": (128, 1),
    "examples/wavenet_gated.yaml": (256, 256),
    "examples/highway_mnist.yaml": (10,),
}


@pytest.mark.parametrize("path", sorted(OUTPUT_SHAPES))
def test_output_shape(path):
    assert analysis_of(path).output.output_shape == OUTPUT_SHAPES[path]


# --- GoogLeNet: Table 1 of Szegedy et al. 2014 -----------------------------------------

GOOGLENET_TABLE_1 = [
    ("conv1", (112, 112, 64)),
    ("pool1", (56, 56, 64)),
    ("conv2", (56, 56, 192)),
    ("pool2", (28, 28, 192)),
    ("inception_3a", (28, 28, 256)),
    ("inception_3b", (28, 28, 480)),
    ("pool3", (14, 14, 480)),
    ("inception_4a", (14, 14, 512)),
    ("inception_4b", (14, 14, 512)),
    ("inception_4c", (14, 14, 512)),
    ("inception_4d", (14, 14, 528)),
    ("inception_4e", (14, 14, 832)),
    ("pool4", (7, 7, 832)),
    ("inception_5a", (7, 7, 832)),
    ("inception_5b", (7, 7, 1024)),
    ("pool5", (1, 1, 1024)),
    ("drop", (1, 1, 1024)),
    ("linear", (1000,)),
]


@pytest.mark.parametrize(("stage", "shape"), GOOGLENET_TABLE_1)
def test_googlenet_follows_table_1(stage, shape):
    assert output_of(analysis_of("specs/googlenet.yaml"), stage).output_shape == shape


def test_googlenet_inception_params_follow_the_filter_numbers():
    analysis = analysis_of("specs/googlenet.yaml")
    channels = 192
    for name, one, reduce3, three, reduce5, five, proj in reference.GOOGLENET_INCEPTIONS:
        inside = [f for n, f in analysis.layers.items() if n.startswith(f"inception_{name}/")]
        expected = reference.inception(channels, one, reduce3, three, reduce5, five, proj)
        assert sum(f.params for f in inside) == expected.total, name
        channels = one + three + five + proj


# --- ResNets and the other zoo shapes --------------------------------------------------

STAGE_SHAPES = {
    "specs/resnet18.yaml": [("maxpool", (56, 56, 64)), ("layer1", (56, 56, 64)), ("layer2", (28, 28, 128)),
                            ("layer3", (14, 14, 256)), ("layer4", (7, 7, 512)), ("fc", (1000,))],
    "specs/resnet34.yaml": [("maxpool", (56, 56, 64)), ("layer1", (56, 56, 64)), ("layer2", (28, 28, 128)),
                            ("layer3", (14, 14, 256)), ("layer4", (7, 7, 512)), ("fc", (1000,))],
    **{
        f"specs/resnet{depth}.yaml": [
            ("conv1_pad", (230, 230, 3)), ("conv1_conv", (112, 112, 64)), ("pool1_pool", (56, 56, 64)),
            ("conv2", (56, 56, 256)), ("conv3", (28, 28, 512)), ("conv4", (14, 14, 1024)),
            ("conv5", (7, 7, 2048)), ("avg_pool", (2048,)), ("predictions", (1000,))]
        for depth in (50, 101, 152)
    },
    "specs/alexnet.yaml": [("conv1", (55, 55, 64)), ("pool1", (27, 27, 64)), ("conv2", (27, 27, 192)),
                           ("pool2", (13, 13, 192)), ("conv5", (13, 13, 256)), ("pool5", (6, 6, 256)),
                           ("fc8", (1000,))],
    "specs/vgg16.yaml": [("block1_pool", (112, 112, 64)), ("block3_pool", (28, 28, 256)),
                         ("block5_pool", (7, 7, 512)), ("flatten", (25088,)), ("predictions", (1000,))],
    "specs/vgg19.yaml": [("block1_pool", (112, 112, 64)), ("block4_pool", (14, 14, 512)),
                         ("block5_pool", (7, 7, 512)), ("predictions", (1000,))],
    "specs/lenet.yaml": [("conv1", (28, 28, 6)), ("pool1", (14, 14, 6)), ("conv2", (10, 10, 16)),
                         ("pool2", (5, 5, 16)), ("logits", (10,))],
    "specs/tcn.yaml": [("dilated_stack", (64, 32)), ("forecast", (64, 1))],
    # Keras Applications: the shapes their source comments and model.summary() print
    "specs/inception_v3.yaml": [("max_pooling2d_1", (35, 35, 192)), ("mixed0", (35, 35, 256)),
                                ("mixed2", (35, 35, 288)), ("mixed3", (17, 17, 768)), ("mixed7", (17, 17, 768)),
                                ("mixed8", (8, 8, 1280)), ("mixed9_1", (8, 8, 768)), ("mixed10", (8, 8, 2048))],
    "specs/xception.yaml": [("block1_conv2_act", (147, 147, 64)), ("add", (74, 74, 128)),
                            ("add_2", (19, 19, 728)), ("add_10", (19, 19, 728)), ("add_11", (10, 10, 1024)),
                            ("block14_sepconv2_act", (10, 10, 2048))],
    "specs/densenet121.yaml": [("pool1", (56, 56, 64)), ("conv2_block6_concat", (56, 56, 256)),
                               ("pool2_pool", (28, 28, 128)), ("conv3_block12_concat", (28, 28, 512)),
                               ("conv4_block24_concat", (14, 14, 1024)), ("pool4_pool", (7, 7, 512)),
                               ("conv5_block16_concat", (7, 7, 1024))],
    "specs/mobilenet.yaml": [("conv1_relu", (112, 112, 32)), ("conv_pad_2", (113, 113, 64)),
                             ("conv_pw_2_relu", (56, 56, 128)), ("conv_pw_13_relu", (7, 7, 1024)),
                             ("conv_preds", (1, 1, 1000))],
    "specs/mobilenet_v2.yaml": [("expanded_conv_project_BN", (112, 112, 16)), ("block_2_add", (56, 56, 24)),
                                ("block_16_project_BN", (7, 7, 320)), ("out_relu", (7, 7, 1280))],
    "examples/dilated_causal.yaml": [("dilated", (128, 32)), ("output", (128, 1))],
    "examples/causal_conv_toy.yaml": [("causal_conv", (3, 1))],
    # the slide: "collapse the preceding 17x17x64 feature map into ... 18496"
    "examples/cats_vs_dogs.yaml": [("max_pooling2d_3", (17, 17, 64)), ("flatten_1", (18496,)),
                                   ("activation_5", (1,))],
}


@pytest.mark.parametrize(("path", "stage", "shape"),
                         [(path, stage, shape) for path, rows in STAGE_SHAPES.items() for stage, shape in rows])
def test_stage_shapes(path, stage, shape):
    assert output_of(analysis_of(path), stage).output_shape == shape


def test_resnet_stages_have_the_published_block_counts():
    """Keras ResNet-50/101/152 stack 3-4-6-3, 3-4-23-3 and 3-8-36-3 bottlenecks (3 convs each)."""
    for depth, blocks in ((50, (3, 4, 6, 3)), (101, (3, 4, 23, 3)), (152, (3, 8, 36, 3))):
        analysis = analysis_of(f"specs/resnet{depth}.yaml")
        convs = [name for name, facts in analysis.layers.items() if facts.op == "conv"]
        for stage, count in zip(("conv2", "conv3", "conv4", "conv5"), blocks):
            in_stage = [name for name in convs if name.startswith(stage + "/")]
            assert len(in_stage) == 3 * count + 1, (depth, stage)  # + the projection shortcut


# --- receptive fields of the causal nets ----------------------------------------------


@pytest.mark.parametrize(("path", "field"), [
    ("specs/tcn.yaml", reference.tcn_receptive_field()),
    ("examples/dilated_causal.yaml", reference.tcn_receptive_field(2, reference.CAUSAL_DILATIONS)),
    ("examples/causal_conv_toy.yaml", 2),
    ("examples/wavenet_gated.yaml", 1 + reference.tcn_receptive_field(2, reference.WAVENET_DILATIONS)),
])
def test_causal_receptive_field(path, field):
    assert analysis_of(path).output.receptive_field == (field,)


def test_tcn_sees_its_whole_window():
    assert reference.tcn_receptive_field() == 64 == analysis_of("specs/tcn.yaml").graph.input_shape[0]


# --- the seeds' Keras model.summary() tables, row by row -------------------------------


def channels_last(shape: tuple[int, ...]) -> tuple[int, ...]:
    """A channels-first ('th') Keras shape (C, H, W) as netspec's (H, W, C)."""
    return shape[1:] + shape[:1] if len(shape) == 3 else shape


# Transcribed from the seeds: (layer name, output shape without batch, Param #).
SEED_SUMMARIES = {
    # seed 004, CIFAR-10 convnet; Keras ran with image_dim_ordering 'th'.
    "examples/cifar10_convnet.yaml": [
        ("conv2d_1", channels_last((32, 32, 32)), 896),
        ("dropout_1", channels_last((32, 32, 32)), 0),
        ("conv2d_2", channels_last((32, 32, 32)), 9248),
        ("max_pooling2d_1", channels_last((32, 16, 16)), 0),
        ("flatten_1", (8192,), 0),
        ("dense_1", (512,), 4194816),
        ("dropout_2", (512,), 0),
        ("dense_2", (10,), 5130),
    ],
    # seed 001, exercises/07_CNN_MNIST a): fcn_MNIST_keras.
    "examples/mnist_fcnn.yaml": [
        ("dense_1", (500,), 392500),
        ("batch_normalization_1", (500,), 2000),
        ("dropout_1", (500,), 0),
        ("activation_1", (500,), 0),
        ("dense_2", (50,), 25050),
        ("batch_normalization_2", (50,), 200),
        ("dropout_2", (50,), 0),
        ("activation_2", (50,), 0),
        ("dense_3", (10,), 510),
    ],
    # seed 001, exercises/07_CNN_MNIST b): cnn1.
    "examples/mnist_cnn1.yaml": [
        ("conv2d_1", (28, 28, 32), 320),
        ("activation_1", (28, 28, 32), 0),
        ("flatten_1", (25088,), 0),
        ("dense_1", (10,), 250890),
        ("activation_2", (10,), 0),
    ],
}


@pytest.mark.parametrize(("path", "row"),
                         [(path, row) for path, rows in SEED_SUMMARIES.items() for row in rows],
                         ids=lambda value: value if isinstance(value, str) else value[0])
def test_seed_summary_row(path, row):
    name, shape, params = row
    facts = analysis_of(path).layers[name]
    assert (facts.output_shape, facts.params) == (shape, params)


@pytest.mark.parametrize("path", sorted(SEED_SUMMARIES))
def test_seed_summary_has_every_layer(path):
    """netspec's layers are exactly the summary's rows, in order (the input aside)."""
    analysis = analysis_of(path)
    names = [name for name, facts in analysis.layers.items() if facts.op != "input"]
    assert names == [name for name, _shape, _params in SEED_SUMMARIES[path]]


# --- the command line -------------------------------------------------------------------


def test_check_command_passes_the_whole_zoo():
    completed = subprocess.run(
        [sys.executable, "-m", "netspec", "check", *SPEC_FILES],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "error" not in completed.stderr


def test_summary_json_reports_the_keras_resnet50_counts():
    completed = subprocess.run(
        [sys.executable, "-m", "netspec", "summary", "specs/resnet50.yaml", "--format", "json"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert completed.returncode == 0, completed.stderr
    report = json.loads(completed.stdout)
    assert (report["total_params"], report["trainable_params"], report["non_trainable_params"]) == (
        25_636_712, 25_583_592, 53_120)
    assert report["layers"][-1]["output_shape"] == [1000]
    assert sum(layer["params"] for layer in report["layers"]) == 25_636_712


@pytest.mark.parametrize("path", ["specs/resnet50.yaml", "specs/resnet101.yaml", "specs/resnet152.yaml",
                                  "specs/densenet121.yaml"])
def test_keras_stems_lose_only_padding(path):
    """Keras' 7x7/2 stem conv and 3x3/2 pool skip their input's last row and column, which are the
    ZeroPadding2D's cells: no unseen-input warning, and so no allow: in the spec."""
    analysis = analysis_of(path)
    assert "allow:" not in (ROOT / path).read_text()
    stem = [facts for facts in analysis.layers.values() if facts.op in ("conv", "pool")][:2]
    assert [(facts.input_shapes[0][:2], facts.output_shape[:2]) for facts in stem] == [
        ((230, 230), (112, 112)), ((114, 114), (56, 56))]  # (230 - 7) % 2 == 1, (114 - 3) % 2 == 1
    assert checked(path).diagnostics == ()


# --- Keras Applications: Keras' own layer names, so weight files map by name -----------

# path -> (names of some nodes that must exist, how many nodes of each op the Keras model has)
KERAS_NAMES = {
    "specs/inception_v3.yaml": (["conv2d", "conv2d_93", "batch_normalization_93", "activation_93",
                                 "max_pooling2d_3", "average_pooling2d_8", "mixed9_0", "concatenate_1",
                                 "mixed10", "avg_pool", "predictions"], {"conv": 94, "batchnorm": 94, "concat": 15}),
    "specs/xception.yaml": (["block1_conv1", "block1_conv1_bn", "block2_sepconv2_act", "block13_pool", "conv2d_3",
                             "batch_normalization_3", "add_11", "block14_sepconv2_act", "avg_pool", "predictions"],
                            {"separable_conv": 34, "conv": 6, "batchnorm": 40, "add": 12}),
    "specs/densenet121.yaml": (["zero_padding2d", "conv1_conv", "pool1", "conv2_block1_0_bn", "conv2_block1_1_conv",
                                "conv2_block1_2_conv", "conv2_block1_concat", "pool2_conv", "pool4_pool",
                                "conv5_block16_concat", "bn", "relu", "avg_pool", "predictions"],
                               {"conv": 120, "batchnorm": 121, "concat": 58}),
    "specs/mobilenet.yaml": (["conv1", "conv1_bn", "conv_dw_1", "conv_dw_1_bn", "conv_pw_1", "conv_pw_13_relu",
                              "conv_pad_12", "conv_preds", "reshape_2", "predictions"],
                             {"depthwise_conv": 13, "conv": 15, "batchnorm": 27}),
    "specs/mobilenet_v2.yaml": (["Conv1", "bn_Conv1", "expanded_conv_depthwise", "expanded_conv_project_BN",
                                 "block_1_expand", "block_1_pad", "block_1_depthwise_BN", "block_16_project",
                                 "block_15_add", "Conv_1", "Conv_1_bn", "out_relu", "predictions"],
                                {"depthwise_conv": 17, "conv": 35, "batchnorm": 52, "add": 10}),
}


@pytest.mark.parametrize("path", sorted(KERAS_NAMES))
def test_keras_applications_keep_keras_layer_names(path):
    names, op_counts = KERAS_NAMES[path]
    analysis = analysis_of(path)
    assert [name for name in names if name not in analysis.layers] == []
    assert all("/" not in name for name in analysis.layers), "written flat, so no scope path prefixes a name"
    counted = {op: sum(facts.op == op for facts in analysis.layers.values()) for op in op_counts}
    assert counted == op_counts


def test_wavenet_dilations_come_from_the_repeat_index():
    layers = analysis_of("examples/wavenet_gated.yaml").graph.nodes
    filters = [node for node in layers if node.local_name == "filter"]
    assert [node.attrs.dilation for node in filters] == [(2**i,) for i in range(8)]
    assert [node.name for node in filters][:2] == ["stack/block0/filter", "stack/block1/filter"]


# --- EfficientNet-B0: squeeze-and-excitation and Keras' names ---------------------------------

EFFICIENTNET_STAGES = [  # Keras' layer name -> its output shape (from EfficientNetB0's model.summary())
    ("normalization", (224, 224, 3)), ("stem_activation", (112, 112, 32)),
    ("block1a_se_squeeze", (32,)), ("block1a_se_reshape", (1, 1, 32)), ("block1a_se_reduce", (1, 1, 8)),
    ("block1a_se_excite", (112, 112, 32)), ("block1a_project_bn", (112, 112, 16)),
    ("block2a_dwconv", (56, 56, 96)), ("block2b_add", (56, 56, 24)), ("block3b_add", (28, 28, 40)),
    ("block4c_add", (14, 14, 80)), ("block5c_add", (14, 14, 112)), ("block6a_dwconv", (7, 7, 672)),
    ("block6d_add", (7, 7, 192)), ("block7a_project_bn", (7, 7, 320)), ("top_activation", (7, 7, 1280)),
]


def by_local_name(analysis: Analysis) -> dict[str, LayerFacts]:
    """Layers by their own name (Keras' name), without the stage/template scope path."""
    nodes = {node.local_name: analysis.layers[node.name] for node in analysis.graph.nodes}
    assert len(nodes) == len(analysis.graph.nodes), "local names are unique, as Keras' are"
    return nodes


@pytest.mark.parametrize(("name", "shape"), EFFICIENTNET_STAGES)
def test_efficientnet_b0_layers_have_keras_names_and_shapes(name, shape):
    assert by_local_name(analysis_of("specs/efficientnet_b0.yaml"))[name].output_shape == shape


# keras.applications.EfficientNetB1 ... B7(weights=None), built with Keras 3.15 (JAX backend):
# count_params(), trainable, non-trainable, input size. All seven also equal
# reference.efficientnet(width, depth), Keras' construction rewritten from its source.
EFFICIENTNET_COEFFICIENTS = {"b1": (1.0, 1.1), "b2": (1.1, 1.2), "b3": (1.2, 1.4), "b4": (1.4, 1.8),
                             "b5": (1.6, 2.2), "b6": (1.8, 2.6), "b7": (2.0, 3.1)}
EFFICIENTNET_SCALES = {
    "b1": (7_856_239, 7_794_184, 62_055, 240), "b2": (9_177_569, 9_109_994, 67_575, 260),
    "b3": (12_320_535, 12_233_232, 87_303, 300), "b4": (19_466_823, 19_341_616, 125_207, 380),
    "b5": (30_562_527, 30_389_784, 172_743, 456), "b6": (43_265_143, 43_040_704, 224_439, 528),
    "b7": (66_658_687, 66_347_960, 310_727, 600),
}


@pytest.mark.parametrize("scale", sorted(EFFICIENTNET_SCALES))
def test_efficientnet_scales_are_keras_b1_to_b7(scale):
    total, trainable, non_trainable, size = EFFICIENTNET_SCALES[scale]
    result = check_file(ROOT / "specs/efficientnet_b0.yaml", scale=scale)
    assert result.ok, [d.message for d in result.errors]
    analysis = result.analysis
    assert (analysis.total_params, analysis.trainable_params, analysis.non_trainable_params) == (
        total, trainable, non_trainable)
    assert analysis.graph.input_shape == (size, size, 3)
    keras = reference.efficientnet(*EFFICIENTNET_COEFFICIENTS[scale])
    assert (keras.trainable, keras.non_trainable) == (trainable, non_trainable)


def test_efficientnet_b2_blocks_are_keras():
    """B2 (width 1.1, depth 1.2): stage 1 gets a second block (ceil(1 x 1.2) = 2) with the skip
    connection; the expansion conv has 6 x filters(in) filters, not filters(6 x in)."""
    layers = by_local_name(check_file(ROOT / "specs/efficientnet_b0.yaml", scale="b2").analysis)
    assert layers["block1b_add"].output_shape == (130, 130, 16)  # filters(16) = 16 (17.6 -> 16)
    assert layers["block2a_expand_conv"].output_shape[-1] == 6 * 16
    assert layers["block3a_expand_conv"].output_shape[-1] == 6 * 24  # filters(24) = 24 (26.4 -> 24)
    assert layers["block4a_se_reduce"].output_shape[-1] == 48 // 4  # filters(40) = 48 (44 -> 48)
    assert "block6e_add" in layers and "block6f_add" not in layers  # ceil(4 x 1.2) = 5 blocks: a ... e
    assert layers["block6a_dwconv"].output_shape == (9, 9, 6 * 120)  # 17 -> 9: SAME = Keras' correct_pad
    assert layers["top_activation"].output_shape == (9, 9, 1408)  # filters(1280) = 1408


def test_efficientnet_b0_carries_its_preprocessing():
    analysis = analysis_of("specs/efficientnet_b0.yaml")
    assert [node.op for node in analysis.graph.nodes[1:3]] == ["rescaling", "normalization"]
    normalization = analysis.layers["normalization"]
    assert (normalization.trainable_params, normalization.non_trainable_params) == (0, 7)
    squeezes = [name for name in by_local_name(analysis) if name.endswith("_se_excite")]
    assert len(squeezes) == 16
