"""Independent reference parameter counts for every zoo spec and lecture example.

Plain-Python arithmetic, written from each network's reference definition
(torchvision, Keras Applications, the original paper, the lecture's Keras
code) layer by layer. It deliberately imports nothing from netspec: the zoo
test compares three numbers that were obtained independently — the published
figure, this table, and netspec's static inference.

Conventions follow the reference implementations:

* a convolution has ``filters * (prod(kernel) * c_in // groups)`` weights and
  ``filters`` biases when it has a bias;
* a batchnorm layer has 4 numbers per channel: gamma and beta are trainable,
  the moving mean and variance are not (torchvision calls the latter
  "buffers" and leaves them out of its published count, which is therefore
  our *trainable* count; Keras counts them as non-trainable parameters);
* spatial sizes use the floor formula ``(w + pad_lo + pad_hi - f_eff) // s + 1``
  (torch / Keras "valid" after explicit padding) or ``ceil(w / s)`` for
  Keras / TF "same".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from math import prod


@dataclass(frozen=True)
class Counts:
    """Parameter counts of a layer or a whole network."""

    trainable: int
    non_trainable: int = 0

    @property
    def total(self) -> int:
        return self.trainable + self.non_trainable

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.trainable + other.trainable, self.non_trainable + other.non_trainable)


NOTHING = Counts(0)


def total(parts: list[Counts]) -> Counts:
    """Sum of a list of counts."""
    result = NOTHING
    for part in parts:
        result = result + part
    return result


# --- layer arithmetic ---------------------------------------------------------


def conv(c_in: int, filters: int, kernel: int | tuple[int, ...], *, rank: int = 2,
         bias: bool = True, groups: int = 1) -> Counts:
    """A convolution: kernel ``kernel^rank x (c_in / groups) x filters`` plus ``filters`` biases."""
    window = kernel if isinstance(kernel, tuple) else (kernel,) * rank
    return Counts(filters * prod(window) * (c_in // groups) + (filters if bias else 0))


def dense(n_in: int, units: int, *, bias: bool = True) -> Counts:
    """A fully connected layer on a vector of ``n_in`` features."""
    return Counts(n_in * units + (units if bias else 0))


def batchnorm(channels: int) -> Counts:
    """gamma, beta (trainable) and moving mean, variance (not trainable), per channel."""
    return Counts(2 * channels, 2 * channels)


def out_size(width: int, kernel: int, stride: int = 1, pad: int = 0, dilation: int = 1) -> int:
    """Output length of a conv / pool window with symmetric explicit padding (floor formula)."""
    return (width + 2 * pad - ((kernel - 1) * dilation + 1)) // stride + 1


def same_size(width: int, stride: int) -> int:
    """Output length of a "same"-padded conv / pool: ``ceil(width / stride)``."""
    return -(-width // stride)


# --- the zoo --------------------------------------------------------------------


def lenet5() -> Counts:
    """LeNet-5 on 28x28x1, first conv padded by 2 (so both convs see 28 / 14 -> 10 maps)."""
    side = out_size(28, 5, pad=2) // 2  # conv1 keeps 28, pool -> 14
    side = out_size(side, 5) // 2  # conv2 -> 10, pool -> 5
    return total([
        conv(1, 6, 5),
        conv(6, 16, 5),
        dense(side * side * 16, 120),
        dense(120, 84),
        dense(84, 10),
    ])


def alexnet() -> Counts:
    """torchvision.models.alexnet: features, AdaptiveAvgPool(6x6), classifier."""
    side = out_size(224, 11, 4, 2)  # 55
    side = out_size(side, 3, 2)  # 27
    side = out_size(side, 5, 1, 2)  # 27
    side = out_size(side, 3, 2)  # 13
    side = out_size(side, 3, 2)  # 6 (three 3x3 P1 convs keep 13 in between)
    assert side == 6, "AdaptiveAvgPool2d((6, 6)) is the identity only on a 6x6 map"
    return total([
        conv(3, 64, 11), conv(64, 192, 5), conv(192, 384, 3), conv(384, 256, 3), conv(256, 256, 3),
        dense(6 * 6 * 256, 4096), dense(4096, 4096), dense(4096, 1000),
    ])


VGG16_CONFIG = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M")
VGG19_CONFIG = (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M",
                512, 512, 512, 512, "M", 512, 512, 512, 512, "M")


def vgg(config: tuple) -> Counts:
    """Keras Applications VGG16 / VGG19 with the top: 3x3 same convs, 2x2 pools, 4096-4096-1000."""
    parts, channels, side = [], 3, 224
    for item in config:
        if item == "M":
            side //= 2
        else:
            parts.append(conv(channels, item, 3))
            channels = item
    parts += [dense(side * side * channels, 4096), dense(4096, 4096), dense(4096, 1000)]
    return total(parts)


# GoogLeNet, Szegedy et al. 2014, Table 1: name, #1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj.
GOOGLENET_INCEPTIONS = (
    ("3a", 64, 96, 128, 16, 32, 32),
    ("3b", 128, 128, 192, 32, 96, 64),
    ("4a", 192, 96, 208, 16, 48, 64),
    ("4b", 160, 112, 224, 24, 64, 64),
    ("4c", 128, 128, 256, 24, 64, 64),
    ("4d", 112, 144, 288, 32, 64, 64),
    ("4e", 256, 160, 320, 32, 128, 128),
    ("5a", 256, 160, 320, 32, 128, 128),
    ("5b", 384, 192, 384, 48, 128, 128),
)


def inception(c_in: int, one: int, reduce3: int, three: int, reduce5: int, five: int, proj: int) -> Counts:
    """One inception module (Fig. 2b): every convolution has a bias."""
    return total([
        conv(c_in, one, 1),
        conv(c_in, reduce3, 1), conv(reduce3, three, 3),
        conv(c_in, reduce5, 1), conv(reduce5, five, 5),
        conv(c_in, proj, 1),
    ])


def googlenet() -> Counts:
    """GoogLeNet (Table 1) without the auxiliary classifiers; LRN has no parameters."""
    parts = [conv(3, 64, 7), conv(64, 64, 1), conv(64, 192, 3)]
    channels = 192
    for _name, one, reduce3, three, reduce5, five, proj in GOOGLENET_INCEPTIONS:
        parts.append(inception(channels, one, reduce3, three, reduce5, five, proj))
        channels = one + three + five + proj
    parts.append(dense(channels, 1000))
    return total(parts)


def torchvision_resnet_basic(blocks_per_stage: tuple[int, ...]) -> Counts:
    """torchvision ResNet-18/34: BasicBlock, convs without bias, downsample = conv1x1 + bn."""
    parts = [conv(3, 64, 7, bias=False), batchnorm(64)]
    in_planes = 64
    for stage, blocks in enumerate(blocks_per_stage):
        planes = 64 * 2**stage
        for block in range(blocks):
            stride = 2 if stage > 0 and block == 0 else 1
            parts += [conv(in_planes, planes, 3, bias=False), batchnorm(planes),
                      conv(planes, planes, 3, bias=False), batchnorm(planes)]
            if stride != 1 or in_planes != planes:
                parts += [conv(in_planes, planes, 1, bias=False), batchnorm(planes)]
            in_planes = planes
    parts.append(dense(in_planes, 1000))
    return total(parts)


def keras_resnet_v1(blocks_per_stage: tuple[int, ...]) -> Counts:
    """Keras Applications ResNet50/101/152 (v1): convs with bias, bottleneck ``stack1``/``block1``.

    The first block of every stage has a conv shortcut (``conv_shortcut=True``),
    even in conv2 where its stride is 1.
    """
    parts = [conv(3, 64, 7), batchnorm(64)]
    channels = 64
    for stage, blocks in enumerate(blocks_per_stage):
        filters = 64 * 2**stage
        for block in range(blocks):
            if block == 0:
                parts += [conv(channels, 4 * filters, 1), batchnorm(4 * filters)]
            parts += [conv(channels, filters, 1), batchnorm(filters),
                      conv(filters, filters, 3), batchnorm(filters),
                      conv(filters, 4 * filters, 1), batchnorm(4 * filters)]
            channels = 4 * filters
    parts.append(dense(channels, 1000))
    return total(parts)


TCN_DILATIONS = (1, 2, 4, 8, 16, 32)


def tcn() -> Counts:
    """specs/tcn.yaml: causal conv stack (32 filters, F=2) on 1 channel, then a 1x1 conv to 1 channel."""
    parts, channels = [], 1
    for _dilation in TCN_DILATIONS:
        parts.append(conv(channels, 32, 2, rank=1))
        channels = 32
    parts.append(conv(channels, 1, 1, rank=1))
    return total(parts)


def tcn_receptive_field(kernel: int = 2, dilations: tuple[int, ...] = TCN_DILATIONS) -> int:
    """Time steps one output of a stack of causal convolutions sees: ``1 + (F - 1) * sum(d)``."""
    return 1 + (kernel - 1) * sum(dilations)


def batchnorm_without_scale(channels: int) -> Counts:
    """Keras BatchNormalization(scale=False): beta trainable, moving mean and variance not."""
    return Counts(channels, 2 * channels)


def separable(c_in: int, filters: int, kernel: int = 3) -> Counts:
    """Keras SeparableConv2D without bias: a ``kernel^2`` depthwise filter per channel, then 1x1 pointwise."""
    return Counts(kernel * kernel * c_in + c_in * filters)


def depthwise(channels: int, kernel: int = 3, *, bias: bool = False) -> Counts:
    """Keras DepthwiseConv2D, depth multiplier 1: one ``kernel x kernel`` filter per channel."""
    return Counts(kernel * kernel * channels + (channels if bias else 0))


def keras_inception_v3() -> Counts:
    """keras.applications.InceptionV3: every conv is ``conv2d_bn`` (no bias, batchnorm without gamma)."""
    parts: list[Counts] = []

    def conv_bn(c_in: int, filters: int, rows: int, cols: int) -> int:
        parts.extend([conv(c_in, filters, (rows, cols), bias=False), batchnorm_without_scale(filters)])
        return filters

    c = conv_bn(3, 32, 3, 3)
    c = conv_bn(c, 32, 3, 3)
    c = conv_bn(c, 64, 3, 3)
    c = conv_bn(c, 80, 1, 1)
    c = conv_bn(c, 192, 3, 3)
    for pool_filters in (32, 64, 64):  # mixed0-2
        one = conv_bn(c, 64, 1, 1)
        five = conv_bn(conv_bn(c, 48, 1, 1), 64, 5, 5)
        double = conv_bn(conv_bn(conv_bn(c, 64, 1, 1), 96, 3, 3), 96, 3, 3)
        c = one + five + double + conv_bn(c, pool_filters, 1, 1)
    three = conv_bn(c, 384, 3, 3)  # mixed3
    double = conv_bn(conv_bn(conv_bn(c, 64, 1, 1), 96, 3, 3), 96, 3, 3)
    c = three + double + c
    for inner in (128, 160, 160, 192):  # mixed4-7
        one = conv_bn(c, 192, 1, 1)
        seven = conv_bn(conv_bn(conv_bn(c, inner, 1, 1), inner, 1, 7), 192, 7, 1)
        double = c
        for filters, rows, cols in ((inner, 1, 1), (inner, 7, 1), (inner, 1, 7), (inner, 7, 1), (192, 1, 7)):
            double = conv_bn(double, filters, rows, cols)
        c = one + seven + double + conv_bn(c, 192, 1, 1)
    three = conv_bn(conv_bn(c, 192, 1, 1), 320, 3, 3)  # mixed8
    seven = conv_bn(conv_bn(conv_bn(conv_bn(c, 192, 1, 1), 192, 1, 7), 192, 7, 1), 192, 3, 3)
    c = three + seven + c
    for _ in range(2):  # mixed9, mixed10
        one = conv_bn(c, 320, 1, 1)
        three = conv_bn(c, 384, 1, 1)
        three = conv_bn(three, 384, 1, 3) + conv_bn(three, 384, 3, 1)
        double = conv_bn(conv_bn(c, 448, 1, 1), 384, 3, 3)
        double = conv_bn(double, 384, 1, 3) + conv_bn(double, 384, 3, 1)
        c = one + three + double + conv_bn(c, 192, 1, 1)
    parts.append(dense(c, 1000))
    return total(parts)


def keras_xception() -> Counts:
    """keras.applications.Xception: entry, middle (8 blocks) and exit flow of separable convs + batchnorm."""
    parts = [conv(3, 32, 3, bias=False), batchnorm(32), conv(32, 64, 3, bias=False), batchnorm(64)]
    c = 64
    for filters in (128, 256, 728):  # blocks 2-4: two separable convs, a 1x1/2 conv shortcut
        parts += [conv(c, filters, 1, bias=False), batchnorm(filters),
                  separable(c, filters), batchnorm(filters), separable(filters, filters), batchnorm(filters)]
        c = filters
    parts += [separable(728, 728), batchnorm(728)] * 3 * 8  # blocks 5-12
    parts += [conv(728, 1024, 1, bias=False), batchnorm(1024),  # block 13
              separable(728, 728), batchnorm(728), separable(728, 1024), batchnorm(1024)]
    parts += [separable(1024, 1536), batchnorm(1536), separable(1536, 2048), batchnorm(2048)]  # block 14
    parts.append(dense(2048, 1000))
    return total(parts)


def keras_densenet(blocks: tuple[int, ...], growth: int = 32) -> Counts:
    """keras.applications.DenseNet121/169/201: bn-relu-conv blocks concatenated, 0.5 transitions."""
    parts = [conv(3, 64, 7, bias=False), batchnorm(64)]
    c = 64
    for stage, count in enumerate(blocks):
        for _ in range(count):
            parts += [batchnorm(c), conv(c, 4 * growth, 1, bias=False),
                      batchnorm(4 * growth), conv(4 * growth, growth, 3, bias=False)]
            c += growth
        if stage < len(blocks) - 1:
            parts += [batchnorm(c), conv(c, c // 2, 1, bias=False)]
            c //= 2
    parts += [batchnorm(c), dense(c, 1000)]
    return total(parts)


MOBILENET_BLOCKS = (64, 128, 128, 256, 256, 512, 512, 512, 512, 512, 512, 1024, 1024)


def keras_mobilenet() -> Counts:
    """keras.applications.MobileNet (alpha 1): conv 3x3, 13 x (depthwise, pointwise), 1x1 conv classifier."""
    parts = [conv(3, 32, 3, bias=False), batchnorm(32)]
    c = 32
    for filters in MOBILENET_BLOCKS:
        parts += [depthwise(c), batchnorm(c), conv(c, filters, 1, bias=False), batchnorm(filters)]
        c = filters
    parts.append(conv(c, 1000, 1))  # conv_preds, with bias
    return total(parts)


# (output channels, expansion) of keras.applications.MobileNetV2's 17 inverted residual blocks.
MOBILENET_V2_BLOCKS = ((16, 1), (24, 6), (24, 6), (32, 6), (32, 6), (32, 6), (64, 6), (64, 6), (64, 6),
                       (64, 6), (96, 6), (96, 6), (96, 6), (160, 6), (160, 6), (160, 6), (320, 6))


def keras_mobilenet_v2() -> Counts:
    """keras.applications.MobileNetV2 (alpha 1): expand 1x1, depthwise 3x3, project 1x1, all without bias."""
    parts = [conv(3, 32, 3, bias=False), batchnorm(32)]
    c = 32
    for filters, expansion in MOBILENET_V2_BLOCKS:
        wide = c * expansion
        if expansion != 1:
            parts += [conv(c, wide, 1, bias=False), batchnorm(wide)]
        parts += [depthwise(wide), batchnorm(wide), conv(wide, filters, 1, bias=False), batchnorm(filters)]
        c = filters
    parts += [conv(c, 1280, 1, bias=False), batchnorm(1280), dense(1280, 1000)]
    return total(parts)


# --- the lecture examples ---------------------------------------------------------


def cifar10_convnet() -> Counts:
    """seed 004: two 3x3 same convs (32), pool 2, dense 512, dense 10 on 32x32x3."""
    return total([conv(3, 32, 3), conv(32, 32, 3), dense(16 * 16 * 32, 512), dense(512, 10)])


def cats_vs_dogs() -> Counts:
    """seed 000: three valid 3x3 convs (32, 32, 64) each pooled by 2 on 150x150x3, dense 64, dense 1."""
    side = 150
    for _ in range(3):
        side = out_size(side, 3) // 2  # 148 -> 74, 72 -> 36, 34 -> 17
    return total([conv(3, 32, 3), conv(32, 32, 3), conv(32, 64, 3),
                  dense(side * side * 64, 64), dense(64, 1)])


def mnist_batchnorm() -> Counts:
    """seed 001 ``cnn2``: [conv 3x3 same, bn, relu] x 2, pool, x 2 again, dense 40 + bn, dense 10."""
    side = same_size(same_size(28, 1) // 2, 1) // 2  # 7
    return total([
        conv(1, 8, 3), batchnorm(8), conv(8, 8, 3), batchnorm(8),
        conv(8, 16, 3), batchnorm(16), conv(16, 16, 3), batchnorm(16),
        dense(side * side * 16, 40), batchnorm(40), dense(40, 10),
    ])


def mnist_fcnn() -> Counts:
    """seed 001 ``fcn_MNIST_keras``: 784 -> dense 500 + bn -> dense 50 + bn -> dense 10."""
    return total([dense(784, 500), batchnorm(500), dense(500, 50), batchnorm(50), dense(50, 10)])


def mnist_cnn1() -> Counts:
    """seed 001 ``cnn1``: one 3x3 same conv (32) on 28x28x1, flatten, dense 10."""
    return total([conv(1, 32, 3), dense(28 * 28 * 32, 10)])


def lenet_keras() -> Counts:
    """seed 002 (Gulli & Pal's Keras LeNet): conv 20 5x5 same, pool, conv 50 5x5 same, pool, dense 500, 10."""
    side = 28 // 2 // 2
    return total([conv(1, 20, 5), conv(20, 50, 5), dense(side * side * 50, 500), dense(500, 10)])


def causal_conv_toy() -> Counts:
    """seed 001: one causal Conv1D, 1 filter, kernel 2, no bias, on 3 time steps of 1 channel."""
    return conv(1, 1, 2, rank=1, bias=False)


CAUSAL_DILATIONS = (1, 2, 4, 8)


def dilated_causal() -> Counts:
    """seed 001 ``modeldil``: four causal Conv1D (32 filters, kernel 2, dilations 1..8), Dense(1)."""
    parts, channels = [], 1
    for _dilation in CAUSAL_DILATIONS:
        parts.append(conv(channels, 32, 2, rank=1))
        channels = 32
    parts.append(dense(channels, 1))
    return total(parts)


WAVENET_DILATIONS = tuple(2**i for i in range(8))


def wavenet_gated(channels: int = 32, classes: int = 256) -> Counts:
    """examples/wavenet_gated.yaml: causal stem, gated blocks (tanh and sigmoid convs, 1x1), 1x1 head."""
    parts = [conv(1, channels, 2, rank=1)]
    for _dilation in WAVENET_DILATIONS:
        parts += [conv(channels, channels, 2, rank=1), conv(channels, channels, 2, rank=1),
                  conv(channels, channels, 1, rank=1)]
    parts += [conv(channels, channels, 1, rank=1), conv(channels, classes, 1, rank=1)]
    return total(parts)


EFFICIENTNET_B0_BLOCKS = (  # Keras' DEFAULT_BLOCKS_ARGS: kernel, repeats, filters in, out, expand ratio, stride
    (3, 1, 32, 16, 1, 1), (3, 2, 16, 24, 6, 2), (5, 2, 24, 40, 6, 2), (3, 3, 40, 80, 6, 2),
    (5, 3, 80, 112, 6, 1), (5, 4, 112, 192, 6, 2), (3, 1, 192, 320, 6, 1),
)


def keras_normalization(channels: int) -> Counts:
    """Keras' Normalization: mean and variance per channel and a count, none trainable."""
    return Counts(0, 2 * channels + 1)


def efficientnet_b0() -> Counts:
    """keras.applications.EfficientNetB0: preprocessing, stem, 16 MBConv blocks with
    squeeze-and-excitation (se_ratio 0.25 of the block's input filters), top conv, classifier."""
    return efficientnet(1.0, 1.0)


def efficientnet(width: float, depth: float) -> Counts:
    """keras.applications.EfficientNet(width_coefficient, depth_coefficient), as its source builds
    it: round_filters on every stage's filters in and out (multiple of 8, never more than 10 %
    down), ceil(depth · repeats) blocks per stage, the expansion 6 · filters in, the squeeze
    max(1, int(filters in · 0.25)); written here from Keras' source, apart from netspec's rules."""
    def round_filters(filters: int) -> int:
        scaled = filters * width
        new = max(8, int(scaled + 4) // 8 * 8)
        return int(new + 8 if new < 0.9 * scaled else new)

    stem = round_filters(32)
    parts = [keras_normalization(3), conv(3, stem, 3, bias=False), batchnorm(stem)]
    for kernel, repeats, filters_in, filters_out, expand, _ in EFFICIENTNET_B0_BLOCKS:
        filters_in, filters_out = round_filters(filters_in), round_filters(filters_out)
        for index in range(math.ceil(depth * repeats)):
            c_in = filters_in if index == 0 else filters_out
            filters = c_in * expand
            if expand != 1:
                parts += [conv(c_in, filters, 1, bias=False), batchnorm(filters)]
            squeezed = max(1, int(c_in * 0.25))
            parts += [depthwise(filters, kernel, bias=False), batchnorm(filters),
                      conv(filters, squeezed, 1), conv(squeezed, filters, 1),
                      conv(filters, filters_out, 1, bias=False), batchnorm(filters_out)]
    top = round_filters(1280)
    parts += [conv(round_filters(320), top, 1, bias=False), batchnorm(top), dense(top, 1000)]
    return total(parts)


def highway_mnist(width: int = 50, layers: int = 3) -> Counts:
    """A coupled Highway network (Srivastava et al. 2015) on flattened MNIST: a plain dense
    layer to ``width``, then per highway layer a dense H and a dense gate T of ``width``."""
    return total([dense(784, width), *[dense(width, width) for _ in range(2 * layers)], dense(width, 10)])


# spec path (relative to the repository root) -> reference count.
REFERENCE: dict[str, Counts] = {
    "specs/lenet.yaml": lenet5(),
    "specs/alexnet.yaml": alexnet(),
    "specs/vgg16.yaml": vgg(VGG16_CONFIG),
    "specs/vgg19.yaml": vgg(VGG19_CONFIG),
    "specs/googlenet.yaml": googlenet(),
    "specs/resnet18.yaml": torchvision_resnet_basic((2, 2, 2, 2)),
    "specs/resnet34.yaml": torchvision_resnet_basic((3, 4, 6, 3)),
    "specs/resnet50.yaml": keras_resnet_v1((3, 4, 6, 3)),
    "specs/resnet101.yaml": keras_resnet_v1((3, 4, 23, 3)),
    "specs/resnet152.yaml": keras_resnet_v1((3, 8, 36, 3)),
    "specs/tcn.yaml": tcn(),
    "specs/inception_v3.yaml": keras_inception_v3(),
    "specs/xception.yaml": keras_xception(),
    "specs/densenet121.yaml": keras_densenet((6, 12, 24, 16)),
    "specs/mobilenet.yaml": keras_mobilenet(),
    "specs/mobilenet_v2.yaml": keras_mobilenet_v2(),
    "specs/efficientnet_b0.yaml": efficientnet_b0(),
    "examples/cifar10_convnet.yaml": cifar10_convnet(),
    "examples/cats_vs_dogs.yaml": cats_vs_dogs(),
    "examples/mnist_batchnorm.yaml": mnist_batchnorm(),
    "examples/mnist_fcnn.yaml": mnist_fcnn(),
    "examples/mnist_cnn1.yaml": mnist_cnn1(),
    "examples/lenet_keras.yaml": lenet_keras(),
    "examples/causal_conv_toy.yaml": causal_conv_toy(),
    "examples/dilated_causal.yaml": dilated_causal(),
    "examples/wavenet_gated.yaml": wavenet_gated(),
    "examples/highway_mnist.yaml": highway_mnist(),
}

# Published figures, as printed by their source. torchvision publishes the
# trainable count only (running statistics are buffers), so those entries
# give ``trainable`` and the test checks only that; Keras publishes all three.
# spec path -> (source, trainable, non-trainable or None when unpublished).
PUBLISHED: dict[str, tuple[str, int, int | None]] = {
    "specs/lenet.yaml": ("LeNet-5 with a padded first conv (the usual Keras transcription)", 61_706, 0),
    "specs/alexnet.yaml": ("torchvision.models.alexnet", 61_100_840, None),
    "specs/vgg16.yaml": ("keras.applications.VGG16", 138_357_544, 0),
    "specs/vgg19.yaml": ("keras.applications.VGG19", 143_667_240, 0),
    "specs/resnet18.yaml": ("torchvision.models.resnet18", 11_689_512, None),
    "specs/resnet34.yaml": ("torchvision.models.resnet34", 21_797_672, None),
    "specs/resnet50.yaml": ("keras.applications.ResNet50", 25_583_592, 53_120),
    "specs/resnet101.yaml": ("keras.applications.ResNet101", 44_601_832, 105_344),
    "specs/resnet152.yaml": ("keras.applications.ResNet152", 60_268_520, 151_424),
    "specs/inception_v3.yaml": ("keras.applications.InceptionV3", 23_817_352, 34_432),
    "specs/xception.yaml": ("keras.applications.Xception", 22_855_952, 54_528),
    "specs/densenet121.yaml": ("keras.applications.DenseNet121", 7_978_856, 83_648),
    "specs/mobilenet.yaml": ("keras.applications.MobileNet", 4_231_976, 21_888),
    "specs/mobilenet_v2.yaml": ("keras.applications.MobileNetV2", 3_504_872, 34_112),
    "specs/efficientnet_b0.yaml": ("keras.applications.EfficientNetB0 model.summary()", 5_288_548, 42_023),
    "examples/cifar10_convnet.yaml": ("seed 004 model.summary()", 4_210_090, 0),
    "examples/mnist_fcnn.yaml": ("seed 001 model.summary() (fcn_MNIST_keras)", 419_160, 1_100),
    "examples/mnist_cnn1.yaml": ("seed 001 model.summary() (cnn1)", 251_210, 0),
    "examples/lenet_keras.yaml": ("Gulli & Pal, Deep Learning with Keras, ch. 3 model.summary()", 1_256_080, 0),
}
