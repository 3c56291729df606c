#!/usr/bin/python3
"""Write a PyTorch FlowPic model as a flowpic model file, with images and PyTorch's
probabilities for them, to check that flowpic-infer gives the same answers.

Run with Debian's python3-torch, e.g.
    /usr/bin/python3 tests/torch_model_to_safetensors.py --arch lenet --resolution 32 \\
        --classes chat,video,voip --seed 7 --out m.safetensors --images x.npy --probs p.npy
    build/bin/flowpic-infer --model m.safetensors --images x.npy    # compare with p.npy

The weights come from --state-dict (a file of torch.save(net.state_dict()) whose keys
are the model file's names: conv1.weight, conv1.bias, conv2.*, fc1.*, fc2.* (+ fc3.* for
LeNet)) or, without it, from glorot-uniform init with --seed and small random biases.
The model file holds exactly those tensors, float32, in PyTorch layouts (OIHW, Linear
out x in, flatten C,H,W), and __metadata__ {format: flowpic, version: "1", arch,
resolution, channels, classes: comma-separated names in label order}.
--images writes N x C x H x W float32 FlowPic-like images (sparse packet counts; or the
images of --from-images), --probs the N x K float32 softmax of the net in eval mode.
"""
import argparse
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import flowpic_torch as ft  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--arch", choices=["flowpic", "lenet"], required=True)
    ap.add_argument("--resolution", type=int, help="input side (default 1500 for flowpic, 32 for lenet)")
    ap.add_argument("--channels", type=int, default=1, help="input channels (default 1)")
    ap.add_argument("--classes", required=True, help="comma-separated class names in label order")
    src = ap.add_mutually_exclusive_group()
    src.add_argument("--state-dict", help="torch.save(state_dict) file with the model file's tensor names")
    src.add_argument("--seed", type=int, default=0, help="random init seed when no --state-dict (default 0)")
    ap.add_argument("--bias-scale", type=float, default=0.1,
                    help="random biases in +-this for --seed init (default 0.1; 0 gives Keras' zero biases)")
    ap.add_argument("--out", required=True, help="model file to write (.safetensors)")
    ap.add_argument("--images", help="write the images to this .npy (N x C x H x W float32)")
    ap.add_argument("--probs", help="write PyTorch's softmax probabilities to this .npy (N x K float32)")
    ap.add_argument("--from-images", help="use the images of this .npy (N x C x H x W) instead of generating them")
    ap.add_argument("--num-images", type=int, default=4, help="images to generate (default 4)")
    ap.add_argument("--pixels", type=int, help="non-zero pixels per generated image (default 2%% of them)")
    ap.add_argument("--image-seed", type=int, default=1, help="seed of the generated images (default 1)")
    args = ap.parse_args()

    res = args.resolution or (1500 if args.arch == "flowpic" else 32)
    classes = [c for c in args.classes.split(",")]
    if len(classes) < 2 or any(not c for c in classes):
        ap.error("--classes needs at least two non-empty comma-separated names")
    torch.set_num_threads(1)
    try:
        net = ft.make_net(args.arch, args.channels, len(classes), res)
    except ValueError as e:
        ap.error(str(e))
    if args.state_dict:
        net.load_state_dict(torch.load(args.state_dict, map_location="cpu"), strict=True)
    else:
        ft.init_weights(net, args.seed, args.bias_scale)
    net.eval()

    meta = {"format": "flowpic", "version": "1", "arch": args.arch, "resolution": res,
            "channels": args.channels, "classes": ",".join(classes),
            "source": f"tests/torch_model_to_safetensors.py, torch {torch.__version__}"}
    ft.write_safetensors(args.out, [(n, p.detach().numpy()) for n, p in net.state_dict().items()], meta)

    if args.images or args.probs:
        if args.from_images:
            x = np.load(args.from_images).astype(np.float32)
            if x.ndim == 3:
                x = x[:, None]
            if x.shape[1:] != (args.channels, res, res):
                sys.exit(f"{args.from_images}: images of shape {x.shape[1:]}, the net takes "
                         f"{(args.channels, res, res)}")
        else:
            pixels = args.pixels or max(1, res * res // 50)
            x, _ = ft.sparse_flowpics(args.num_images, args.channels, res, pixels, args.image_seed)
        with torch.no_grad():
            probs = torch.softmax(net(torch.from_numpy(np.ascontiguousarray(x))), dim=1).numpy()
        if args.images:
            np.save(args.images, x)
        if args.probs:
            np.save(args.probs, probs.astype(np.float32))


if __name__ == "__main__":
    main()
