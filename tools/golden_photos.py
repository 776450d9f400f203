#!/usr/bin/python3
"""Fixtures for torchvision-exact photo preprocessing (test/data/photos.test.ts), written with
Debian's python3-torch, python3-torchvision and python3-pil; the photos are scikit-image's sample
photos (Debian's python3-skimage), re-encoded as small JPEGs.

Run with /usr/bin/python3 (the Debian interpreter that has torch):
    /usr/bin/python3 tools/golden_photos.py            # → test/fixtures/photos/
    /usr/bin/python3 tools/golden_photos.py --full     # also: a full-size torchvision AlexNet
                                                       # (seeded random weights) on the photos;
                                                       # writes /tmp/alexnet-photos-full/, not committed

Written:
  <name>.jpg            the photo (JPEG, quality 90): sizes chosen to downscale by 1.2-2.6x, to
                        upscale, and to give odd margins for CenterCrop's rounding
  crops.json            per photo: the SHA-256 and byte sum of what torchvision's Resize(256) +
                        CenterCrop(224) makes of it ([224, 224, 3] uint8 RGB, row-major), so the
                        test checks the prepared pixels bit for bit without storing them
  tv_tiny_logits.npy    [N, 10] float32: ../interop/tv_tiny.pth (a reduced-width torchvision
                        AlexNet) on Normalize(ToTensor(crop)), in the photos' sorted order
  pil_<w>x<h>_to_<W>x<H>.npy — PIL's bilinear resize of a
                        deterministic pattern (x.flat[i] = (i·7919 + (i // 3)·31) mod 256), uint8
"""
import hashlib
import json
import os
import sys

import numpy as np
import torch
from PIL import Image
from torchvision import transforms

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from golden_interop import TorchvisionLike, WIDTHS, CLASSES  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, '..', 'test', 'fixtures', 'photos')
SKIMAGE = '/usr/lib/python3/dist-packages/skimage/data'
# name: (source file, size to re-encode at)
PHOTOS = {
    'astronaut': ('astronaut.png', (333, 333)),  # square, 1.3x down
    'chelsea': ('chelsea.png', (451, 300)),  # the original size: 1.17x down, odd width
    'coffee': ('coffee.png', (600, 400)),  # the original size: 1.56x down
    'rocket': ('rocket.jpg', (270, 427)),  # portrait, 1.05x down, odd crop margin
    'motorcycle': ('motorcycle_left.png', (180, 131)),  # upscaled 1.95x
}
PATTERNS = [((97, 61), (37, 23)), ((50, 30), (71, 45)), ((300, 200), (41, 113))]

preprocess = transforms.Compose([
    transforms.Resize(256),
    transforms.CenterCrop(224),
    transforms.ToTensor(),
    transforms.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225]),
])


def pattern(w, h):
    i = np.arange(w * h * 3, dtype=np.int64)
    return ((i * 7919 + (i // 3) * 31) % 256).astype(np.uint8).reshape(h, w, 3)


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, (src, size) in PHOTOS.items():
        img = Image.open(os.path.join(SKIMAGE, src)).convert('RGB')
        if img.size != size:
            img = img.resize(size, Image.LANCZOS)
        img.save(os.path.join(OUT, name + '.jpg'), quality=90)
    names = sorted(PHOTOS)
    batch = []
    crops = {}
    for name in names:
        img = Image.open(os.path.join(OUT, name + '.jpg')).convert('RGB')
        crop = np.asarray(transforms.CenterCrop(224)(transforms.Resize(256)(img)), dtype=np.uint8)
        crops[name] = {'size': list(img.size), 'sha256': hashlib.sha256(crop.tobytes()).hexdigest(),
                       'sum': int(crop.sum(dtype=np.int64))}
        batch.append(preprocess(img))
    with open(os.path.join(OUT, 'crops.json'), 'w') as f:
        json.dump(crops, f, indent=1)
        f.write('\n')
    x = torch.stack(batch)
    torch.manual_seed(0)
    m = TorchvisionLike(WIDTHS['torchvision'], CLASSES).eval()
    sd = torch.load(os.path.join(HERE, '..', 'test', 'fixtures', 'interop', 'tv_tiny.pth'))
    m.load_state_dict(sd)
    with torch.no_grad():
        np.save(os.path.join(OUT, 'tv_tiny_logits.npy'), m(x).numpy().astype(np.float32))
    for (w, h), (ow, oh) in PATTERNS:
        out = np.asarray(Image.fromarray(pattern(w, h)).resize((ow, oh), Image.BILINEAR))
        np.save(os.path.join(OUT, f'pil_{w}x{h}_to_{ow}x{oh}.npy'), out)
    if '--full' in sys.argv:
        full(x, names)


def full(x, names):
    """A full-size torchvision AlexNet (seeded random weights) and its logits on the photos."""
    from torchvision.models import alexnet
    from safetensors_io import write_safetensors
    d = '/tmp/alexnet-photos-full'
    os.makedirs(d, exist_ok=True)
    torch.manual_seed(0)
    m = alexnet(num_classes=1000).eval()
    torch.save(m.state_dict(), os.path.join(d, 'alexnet.pth'))
    with torch.no_grad():
        np.save(os.path.join(d, 'logits.npy'), m(x).numpy().astype(np.float32))
    print('full-size model and logits in', d, 'for', names)


if __name__ == '__main__':
    main()
