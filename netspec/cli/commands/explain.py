"""``netspec explain RUN IMAGE --method saliency|occlusion|gradcam|lime``:
a heat map of the pixels a trained network's decision rests on, as a PNG
(the image, the map, and the two overlaid). ``--smooth N`` makes saliency
SmoothGrad."""

from __future__ import annotations

import argparse

from netspec.cli.commands.target import add_target_arguments, resolve_target
from netspec.cli.output_files import add_force_flag, check_output, replaced_atomically

HELP = "saliency (SmoothGrad), occlusion, Grad-CAM or LIME heat map of an image for a trained run (PNG)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_target_arguments(parser)
    parser.add_argument("image", metavar="IMAGE", help="image file (png, jpg, ...)")
    parser.add_argument("--method", choices=("saliency", "occlusion", "gradcam", "lime"), default="saliency",
                        help="saliency: |gradient of the class logit| per pixel (Simonyan et al.); "
                             "occlusion: drop of the class score under a sliding patch (Zeiler & Fergus); "
                             "gradcam: a conv layer's gradient-weighted maps (Selvaraju et al.); "
                             "lime: a sparse linear model over superpixels (Ribeiro et al.)")
    parser.add_argument("--class", dest="class_", metavar="CLASS", default=None,
                        help="class id or name to explain (default: the predicted class)")
    parser.add_argument("--smooth", type=int, default=0, metavar="N",
                        help="saliency: SmoothGrad, the mean over N noisy copies (e.g. 50; default 0 = plain)")
    parser.add_argument("--noise", type=float, default=0.15,
                        help="saliency --smooth: noise std as a fraction of the image's range (default 0.15)")
    parser.add_argument("--layer", metavar="NAME", default=None,
                        help="gradcam: the conv layer (default: the last one with 2-D maps)")
    parser.add_argument("--cam", choices=("auto", "gradcam", "hirescam"), default="auto",
                        help="gradcam: Grad-CAM's channel means of the gradient, or HiRes-CAM's per-position "
                             "gradient × activation (auto: Grad-CAM after global pooling, else HiRes-CAM)")
    parser.add_argument("--samples", type=int, default=500, help="lime: perturbed images (default 500)")
    parser.add_argument("--features", type=int, default=8, help="lime: superpixels kept in the fit (default 8)")
    parser.add_argument("--superpixels", type=int, default=40, help="lime: SLIC superpixels asked for (default 40)")
    parser.add_argument("--score", choices=("logit", "prob"), default="logit",
                        help="occlusion: drop of the class logit (default; shows even on confident models) "
                             "or of its probability")
    parser.add_argument("--patch", type=int, default=None, help="occlusion: patch side in pixels (default H/4)")
    parser.add_argument("--stride", type=int, default=None, help="occlusion: patch stride (default patch/2)")
    parser.add_argument("--fill", default="mean", help="occlusion: mean (default) | grey | black | a number")
    parser.add_argument("-o", "--output", metavar="PNG", default=None,
                        help="where to write the PNG (default: IMAGE-METHOD.png here)")
    add_force_flag(parser)


def run(args: argparse.Namespace) -> int:
    resolve_target(args)
    from pathlib import Path

    import numpy as np

    from netspec.data import read_image
    from netspec.interpret.explain import Scorer, overlay_png
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
    heat, label = _heat(args, trained, image, target, fill)
    title = (f"{trained.graph.name}: {args.method} for class '{names[target]}' "
             f"(p = {probabilities[target]:.3f}; predicted '{names[predicted]}', p = {probabilities[predicted]:.3f})")
    with replaced_atomically(output) as temporary:
        overlay_png(image, heat, temporary, title=title, heat_label=label)
    print(f"predicted '{names[predicted]}' ({100 * probabilities[predicted]:.1f}%); "
          f"{args.method} map of class '{names[target]}' written to {output}")
    return 0


def _heat(args: argparse.Namespace, trained, image, target: int, fill):
    """(map (H, W), its colour-bar label) for ``--method``."""
    from netspec.interpret.explain import occlusion, saliency

    if args.method == "saliency" and args.smooth:
        from netspec.interpret.smoothgrad import smoothgrad

        heat = smoothgrad(trained.logits_model, image, target, samples=args.smooth, noise=args.noise,
                          normalize=trained.normalize)
        return heat, f"SmoothGrad ({args.smooth} copies, noise {args.noise:g})"
    if args.method == "saliency":
        return saliency(trained.logits_model, image, target, normalize=trained.normalize), "|∂ logit / ∂ pixel|"
    if args.method == "occlusion":
        heat = occlusion(trained.logits_model, image, target, patch=args.patch, stride=args.stride, fill=fill,
                         normalize=trained.normalize, score=args.score)
        return heat, f"drop of the class {'logit' if args.score == 'logit' else 'probability'} when hidden"
    if args.method == "gradcam":
        from netspec.interpret.gradcam import cam_variant, gradcam, last_spatial_layer

        graph = trained.session.logits_graph
        layer = args.layer or last_spatial_layer(graph)
        variant = cam_variant(graph, layer, args.cam)
        heat = gradcam(trained.logits_model, graph, image, target, layer=layer, normalize=trained.normalize,
                       variant=variant)
        return heat, f"{'Grad-CAM' if variant == 'gradcam' else 'HiRes-CAM'} of '{layer}'"
    from netspec.interpret.lime import lime

    found = lime(trained.logits_model, image, target, samples=args.samples, features=args.features,
                 superpixel_count=args.superpixels, normalize=trained.normalize)
    return found.heat, f"LIME weight per superpixel ({args.features} kept, fit R² {found.score:.2f})"
