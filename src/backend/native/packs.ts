// The tags of the bfloat16 tensors that the native linear kernels keep packed (native/
// linear_packs.h). A bfloat16 `w` of linearForward / linearBackward gets a tag [id, version]: from
// a version's second call the addon keeps w's packed panels and reuses them, instead of packing
// the 75 MB fc6 weight on every call (inference, evaluation; a training step calls each version
// once per direction, so it packs as it goes and holds no panels). The version grows with every write to the tensor this backend sees — a
// kernel that writes it (the `cast` that refreshes a weight's shadow after an optimiser step) or
// an `upload` into it — so the next call repacks from the new values. A host array written
// directly (readSync(t).data[i] = v) is not seen: write bfloat16 tensors through kernels or
// upload, as every layer and the fallback do. When the tensor is collected its panels are freed.
import type { HostArray } from '../../tensor/tensor.js';

export class PackTags {
  private readonly tags = new WeakMap<HostArray, Int32Array>();
  private nextId = 1;
  private readonly registry: FinalizationRegistry<number>;

  constructor(release: (id: number) => void) {
    this.registry = new FinalizationRegistry(release);
  }

  /** The tag of w's host array, created on first use. */
  tag(w: Uint16Array): Int32Array {
    let t = this.tags.get(w);
    if (!t) {
      t = Int32Array.of(this.nextId++, 0);
      this.tags.set(w, t);
      this.registry.register(w, t[0]);
    }
    return t;
  }

  /** `data` was written: its panels, if any, are stale. */
  written(data: HostArray): void {
    const t = this.tags.get(data);
    if (t) t[1] = (t[1] + 1) | 0;
  }
}
