"""A tiny safetensors reader/writer in pure Python + numpy (no `safetensors` package needed).

Format: an 8-byte little-endian u64 header length N, then N bytes of JSON
  {name: {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, "__metadata__": {str: str}}
then the raw little-endian tensor bytes; offsets are relative to the start of the data.
The header is padded with spaces to a multiple of 8 bytes, as the reference implementation does,
so the data starts aligned.
"""

import json
import struct

import numpy as np

DTYPES = {
    "F64": np.dtype("<f8"),
    "F32": np.dtype("<f4"),
    "F16": np.dtype("<f2"),
    "I64": np.dtype("<i8"),
    "I32": np.dtype("<i4"),
    "U8": np.dtype("u1"),
}


def write_safetensors(path, tensors, metadata=None):
    """tensors: {name: np.ndarray} (dtype one of DTYPES); metadata: {str: str}."""
    header = {}
    chunks = []
    offset = 0
    for name in sorted(tensors):
        arr = np.ascontiguousarray(tensors[name])
        # match on kind and width whatever the array's byte order; the bytes are written little-endian
        key = next((k for k, d in DTYPES.items() if arr.dtype.newbyteorder("<") == d), None)
        if key is None:
            raise ValueError(f"{name}: unsupported dtype {arr.dtype}")
        raw = arr.astype(DTYPES[key], copy=False).tobytes()
        header[name] = {"dtype": key, "shape": list(arr.shape), "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for c in chunks:
            f.write(c)


def read_safetensors(path):
    """Returns ({name: np.ndarray}, metadata dict)."""
    with open(path, "rb") as f:
        buf = f.read()
    (n,) = struct.unpack("<Q", buf[:8])
    header = json.loads(buf[8 : 8 + n].decode("utf-8"))
    metadata = header.pop("__metadata__", {})
    data = memoryview(buf)[8 + n :]
    tensors = {}
    for name, e in header.items():
        begin, end = e["data_offsets"]
        dt = DTYPES[e["dtype"]]
        arr = np.frombuffer(data[begin:end], dtype=dt)
        tensors[name] = arr.reshape(e["shape"]).copy()
    return tensors, metadata


if __name__ == "__main__":
    import os
    import tempfile

    t = {"a": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.array([1, -2], dtype=np.int64)}
    p = os.path.join(tempfile.mkdtemp(), "t.safetensors")
    write_safetensors(p, t, {"k": "v"})
    back, md = read_safetensors(p)
    assert md == {"k": "v"} and all(np.array_equal(back[k], t[k]) and back[k].dtype == t[k].dtype for k in t)
    print("safetensors_io round trip ok")
