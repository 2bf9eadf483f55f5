"""``netspec explain SPEC --checkpoint DIR IMAGE --method saliency|occlusion``:
a heat map of the pixels a trained network's decision rests on, as a PNG
(the image, the map, and the two overlaid)."""

from __future__ import annotations

import argparse

from netspec.cli.output_files import add_force_flag, check_output, replaced_atomically

HELP = "saliency or occlusion heat map of an image for a trained run (PNG)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec", metavar="SPEC", help="spec file (YAML) the run was trained from")
    parser.add_argument("image", metavar="IMAGE", help="image file (png, jpg, ...)")
    parser.add_argument("--checkpoint", required=True, metavar="DIR",
                        help="run folder (uses its best checkpoint) or one of its checkpoints/<name> folders")
    parser.add_argument("--method", choices=("saliency", "occlusion"), default="saliency",
                        help="saliency: |gradient of the class logit| per pixel (Simonyan et al.); "
                             "occlusion: drop of the class probability under a sliding patch (Zeiler & Fergus)")
    parser.add_argument("--class", dest="class_", metavar="CLASS", default=None,
                        help="class id or name to explain (default: the predicted class)")
    parser.add_argument("--patch", type=int, default=None, help="occlusion: patch side in pixels (default H/7)")
    parser.add_argument("--stride", type=int, default=None, help="occlusion: patch stride (default patch/2)")
    parser.add_argument("--fill", default="mean", help="occlusion: mean (default) | grey | black | a number")
    parser.add_argument("-o", "--output", metavar="PNG", default=None,
                        help="where to write the PNG (default: IMAGE-METHOD.png here)")
    add_force_flag(parser)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    import numpy as np

    from netspec.data import read_image
    from netspec.interpret.explain import Scorer, occlusion, overlay_png, saliency
    from netspec.interpret.trained import class_index, default_output, open_trained

    output = Path(args.output) if args.output else default_output(f"{Path(args.image).stem}-{args.method}")
    check_output(output, force=args.force, inputs=(args.spec, args.image))
    trained = open_trained(args.spec, args.checkpoint)
    image = read_image(args.image, trained.graph.input_shape)
    scorer = Scorer(trained.logits_model, normalize=trained.normalize)
    probabilities = np.asarray(scorer.probabilities(scorer.state, image[None]))[0]
    names = trained.class_names or [str(i) for i in range(len(probabilities))]
    predicted = int(probabilities.argmax())
    target = class_index(args.class_, names, len(probabilities))
    target = predicted if target is None else target
    fill = float(args.fill) if args.fill.replace(".", "", 1).isdigit() else args.fill
    if args.method == "saliency":
        heat = saliency(trained.logits_model, image, target, normalize=trained.normalize)
        label = "|∂ logit / ∂ pixel|"
    else:
        heat = occlusion(trained.logits_model, image, target, patch=args.patch, stride=args.stride, fill=fill,
                         normalize=trained.normalize)
        label = "drop of p(class) when hidden"
    title = (f"{trained.graph.name}: {args.method} for class '{names[target]}' "
             f"(p = {probabilities[target]:.3f}; predicted '{names[predicted]}', p = {probabilities[predicted]:.3f})")
    with replaced_atomically(output) as temporary:
        overlay_png(image, heat, temporary, title=title, heat_label=label)
    print(f"predicted '{names[predicted]}' ({100 * probabilities[predicted]:.1f}%); "
          f"{args.method} map of class '{names[target]}' written to {output}")
    return 0
