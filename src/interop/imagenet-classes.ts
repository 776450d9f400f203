// ImageNet (ILSVRC-2012) class names, index i = class i, as torchvision's pretrained models use them.
// Origin: Debian's python3-torchvision 0.14.1-2, torchvision/models/_meta.py, _IMAGENET_CATEGORIES
// (BSD-3-Clause), copied once into the source as data (imagenet-classes.json beside this file,
// emitted into dist/ by tsc with the import); nothing is downloaded at run time.
import names from './imagenet-classes.json' with { type: 'json' };

export const IMAGENET_CLASSES: readonly string[] = names;
