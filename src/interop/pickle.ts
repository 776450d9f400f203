// A restricted unpickler for PyTorch state dicts: it reads a pickle as DATA ONLY. It knows the
// opcodes that protocols 0–5 use for plain containers and scalars, and exactly the globals a
// `torch.save(model.state_dict())` refers to (OrderedDict, the tensor-rebuild helpers and the
// storage classes). Any other global — `os.system`, `builtins.eval`, `subprocess.Popen` … — is
// refused before anything is called, with a one-line UsageError, so importing an untrusted .pth
// never runs code. Nothing here evaluates; "calling" a known global just builds a JS record.
import { usage } from '../util/errors.js';

/** A storage reference from a persistent id: ('storage', FloatStorage, key, location, numel). */
export interface StorageRef {
  kind: 'storage';
  dtype: StorageDtype;
  key: string;
  numel: number;
}

/** A tensor view of a storage, as torch._utils._rebuild_tensor_v2 describes it. */
export interface TensorRef {
  kind: 'tensor';
  storage: StorageRef;
  offset: number;
  shape: number[];
  stride: number[];
}

export type StorageDtype =
  | 'float32'
  | 'float64'
  | 'float16'
  | 'bfloat16'
  | 'int64'
  | 'int32'
  | 'int16'
  | 'int8'
  | 'uint8'
  | 'bool';

/** Globals a state dict may name, and what each becomes. */
const STORAGE_CLASSES: Record<string, StorageDtype> = {
  FloatStorage: 'float32',
  DoubleStorage: 'float64',
  HalfStorage: 'float16',
  BFloat16Storage: 'bfloat16',
  LongStorage: 'int64',
  IntStorage: 'int32',
  ShortStorage: 'int16',
  CharStorage: 'int8',
  ByteStorage: 'uint8',
  BoolStorage: 'bool',
};

type Global =
  | { g: 'OrderedDict' }
  | { g: 'rebuild_tensor_v2' }
  | { g: 'rebuild_tensor' }
  | { g: 'rebuild_parameter' }
  | { g: 'storage_class'; dtype: StorageDtype };

function resolveGlobal(module: string, name: string, source: string): Global {
  if (module === 'collections' && name === 'OrderedDict') return { g: 'OrderedDict' };
  if (module === 'torch._utils' && name === '_rebuild_tensor_v2') return { g: 'rebuild_tensor_v2' };
  if (module === 'torch._utils' && name === '_rebuild_tensor') return { g: 'rebuild_tensor' };
  if (module === 'torch._utils' && name === '_rebuild_parameter') return { g: 'rebuild_parameter' };
  if (module === 'torch' && Object.hasOwn(STORAGE_CLASSES, name))
    return { g: 'storage_class', dtype: STORAGE_CLASSES[name] };
  return usage(
    `${source}: refusing global ${module}.${name}: a state dict never needs it (the file may try to run code)`,
  );
}

/** A Python value as this unpickler represents it. Dicts (and OrderedDicts) are Maps. */
export type PyValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | PyValue[]
  | PyTuple
  | Map<PyValue, PyValue>
  | StorageRef
  | TensorRef
  | PyGlobalValue;

export class PyTuple {
  constructor(readonly items: PyValue[]) {}
}

class PyGlobalValue {
  constructor(
    readonly global: Global,
    readonly label: string,
  ) {}
}

export interface UnpickleOptions {
  /** Resolves a persistent id (torch: a tuple ('storage', cls, key, location, numel[, view])). */
  persistentLoad: (pid: PyValue) => PyValue;
  source: string;
}

/** Unpickles one pickle from `buf` starting at `start`; returns the value and where it ended. */
export function unpickle(
  buf: Uint8Array,
  opts: UnpickleOptions,
  start = 0,
): { value: PyValue; end: number } {
  const bad = (why: string): never =>
    usage(`${opts.source}: not a readable PyTorch pickle (${why})`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const stack: PyValue[] = [];
  const marks: number[] = [];
  const memo = new Map<number, PyValue>();
  let pos = start;

  const need = (n: number): void => {
    if (n < 0 || pos + n > buf.length) bad(`truncated at byte ${pos}`);
  };
  const u8 = (): number => {
    need(1);
    return buf[pos++];
  };
  const u16 = (): number => {
    need(2);
    const v = view.getUint16(pos, true);
    pos += 2;
    return v;
  };
  const i32 = (): number => {
    need(4);
    const v = view.getInt32(pos, true);
    pos += 4;
    return v;
  };
  const u32 = (): number => {
    need(4);
    const v = view.getUint32(pos, true);
    pos += 4;
    return v;
  };
  const u64 = (): number => {
    need(8);
    const v = view.getBigUint64(pos, true);
    pos += 8;
    if (v > BigInt(buf.length)) bad(`length ${v} exceeds the file`);
    return Number(v);
  };
  const bytes = (n: number): Uint8Array => {
    need(n);
    const b = buf.subarray(pos, pos + n);
    pos += n;
    return b;
  };
  const utf8 = (n: number): string => Buffer.from(bytes(n)).toString('utf8');
  const line = (): string => {
    const nl = buf.indexOf(0x0a, pos);
    if (nl < 0) bad(`truncated at byte ${pos}`);
    const s = Buffer.from(buf.subarray(pos, nl)).toString('latin1');
    pos = nl + 1;
    return s;
  };
  const pop = (): PyValue => {
    if (stack.length === 0 || (marks.length > 0 && stack.length <= marks[marks.length - 1]))
      bad(`stack underflow at byte ${pos}`);
    return stack.pop()!;
  };
  const top = (): PyValue => {
    if (stack.length === 0) bad(`stack underflow at byte ${pos}`);
    return stack[stack.length - 1];
  };
  const popMark = (): PyValue[] => {
    const m = marks.pop();
    if (m === undefined) bad(`missing mark at byte ${pos}`);
    return stack.splice(m!);
  };
  const push = (v: PyValue): void => {
    stack.push(v);
  };
  const memoPut = (i: number): void => {
    memo.set(i, top());
  };
  const memoGet = (i: number): PyValue => {
    if (!memo.has(i)) bad(`memo key ${i} is not set`);
    return memo.get(i)!;
  };
  const asDict = (v: PyValue, op: string): Map<PyValue, PyValue> => {
    if (!(v instanceof Map)) bad(`${op} on a non-dict`);
    return v as Map<PyValue, PyValue>;
  };
  const asList = (v: PyValue, op: string): PyValue[] => {
    if (!Array.isArray(v)) bad(`${op} on a non-list`);
    return v as PyValue[];
  };
  const keyOf = (k: PyValue): PyValue =>
    typeof k === 'bigint' && k >= Number.MIN_SAFE_INTEGER && k <= Number.MAX_SAFE_INTEGER
      ? Number(k)
      : k;
  const global = (module: string, name: string): PyValue =>
    new PyGlobalValue(resolveGlobal(module, name, opts.source), `${module}.${name}`);

  for (;;) {
    const at = pos;
    const op = u8();
    switch (op) {
      case 0x80:
        u8();
        break; // PROTO
      case 0x95:
        u64();
        break; // FRAME: framing is only a buffering hint
      case 0x2e: {
        // STOP
        const value = pop();
        return { value, end: pos };
      }
      case 0x28:
        marks.push(stack.length);
        break; // MARK: remember the stack height
      case 0x7d:
        push(new Map());
        break; // EMPTY_DICT
      case 0x5d:
        push([]);
        break; // EMPTY_LIST
      case 0x29:
        push(new PyTuple([]));
        break; // EMPTY_TUPLE
      case 0x4e:
        push(null);
        break; // NONE
      case 0x88:
        push(true);
        break; // NEWTRUE
      case 0x89:
        push(false);
        break; // NEWFALSE
      case 0x4a:
        push(i32());
        break; // BININT
      case 0x4b:
        push(u8());
        break; // BININT1
      case 0x4d:
        push(u16());
        break; // BININT2
      case 0x8a: {
        // LONG1
        const n = u8();
        const b = bytes(n);
        let v = 0n;
        for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
        if (n > 0 && b[n - 1] & 0x80) v -= 1n << BigInt(8 * n);
        push(
          v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)
            ? Number(v)
            : v,
        );
        break;
      }
      case 0x47: {
        need(8);
        push(view.getFloat64(pos, false));
        pos += 8;
        break;
      } // BINFLOAT (big-endian)
      case 0x49: {
        // INT (protocol 0): "I01\n" is True
        const s = line();
        if (s === '01') push(true);
        else if (s === '00') push(false);
        else {
          const v = Number(s);
          if (!Number.isFinite(v)) bad(`bad INT at byte ${at}`);
          push(v);
        }
        break;
      }
      case 0x4c: {
        const s = line().replace(/L$/, '');
        if (s.length > 1000) bad(`LONG of ${s.length} digits at byte ${at}`); // parsing is quadratic
        try {
          push(BigInt(s));
        } catch {
          bad(`bad LONG at byte ${at}`);
        }
        break;
      }
      case 0x46: {
        const v = Number(line());
        if (Number.isNaN(v)) bad(`bad FLOAT at byte ${at}`);
        push(v);
        break;
      }
      case 0x58:
        push(utf8(u32()));
        break; // BINUNICODE
      case 0x8c:
        push(utf8(u8()));
        break; // SHORT_BINUNICODE
      case 0x8d:
        push(utf8(u64()));
        break; // BINUNICODE8
      case 0x54:
        push(Buffer.from(bytes(u32())).toString('latin1'));
        break; // BINSTRING
      case 0x55:
        push(Buffer.from(bytes(u8())).toString('latin1'));
        break; // SHORT_BINSTRING
      case 0x42:
        push(bytes(u32()));
        break; // BINBYTES
      case 0x43:
        push(bytes(u8()));
        break; // SHORT_BINBYTES
      case 0x8e:
        push(bytes(u64()));
        break; // BINBYTES8
      case 0x56:
        push(line());
        break; // UNICODE (protocol 0, raw-unicode-escape; ASCII names suffice)
      case 0x71:
        memoPut(u8());
        break; // BINPUT
      case 0x72:
        memoPut(u32());
        break; // LONG_BINPUT
      case 0x94:
        memoPut(memo.size);
        break; // MEMOIZE
      case 0x70: {
        const i = Number(line());
        if (!Number.isInteger(i)) bad(`bad PUT at byte ${at}`);
        memoPut(i);
        break;
      }
      case 0x68:
        push(memoGet(u8()));
        break; // BINGET
      case 0x6a:
        push(memoGet(u32()));
        break; // LONG_BINGET
      case 0x67: {
        const i = Number(line());
        if (!Number.isInteger(i)) bad(`bad GET at byte ${at}`);
        push(memoGet(i));
        break;
      }
      case 0x63: {
        const module = line();
        const name = line();
        push(global(module, name));
        break;
      } // GLOBAL
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string')
          bad(`STACK_GLOBAL without strings at byte ${at}`);
        push(global(module as string, name as string));
        break;
      }
      case 0x74:
        push(new PyTuple(popMark()));
        break; // TUPLE
      case 0x85:
        push(new PyTuple([pop()]));
        break; // TUPLE1
      case 0x86: {
        const b = pop();
        const a = pop();
        push(new PyTuple([a, b]));
        break;
      } // TUPLE2
      case 0x87: {
        const c = pop();
        const b = pop();
        const a = pop();
        push(new PyTuple([a, b, c]));
        break;
      } // TUPLE3
      case 0x6c:
        push(popMark());
        break; // LIST
      case 0x64: {
        // DICT
        const items = popMark();
        if (items.length % 2) bad(`odd DICT at byte ${at}`);
        const d = new Map<PyValue, PyValue>();
        for (let i = 0; i < items.length; i += 2) d.set(keyOf(items[i]), items[i + 1]);
        push(d);
        break;
      }
      case 0x61: {
        const v = pop();
        asList(top(), 'APPEND').push(v);
        break;
      } // APPEND
      case 0x65: {
        const items = popMark();
        const list = asList(top(), 'APPENDS');
        for (const v of items) list.push(v); // not push(...items): a long mark overflows the stack
        break;
      } // APPENDS
      case 0x73: {
        const v = pop();
        const k = pop();
        asDict(top(), 'SETITEM').set(keyOf(k), v);
        break;
      } // SETITEM
      case 0x75: {
        // SETITEMS
        const items = popMark();
        if (items.length % 2) bad(`odd SETITEMS at byte ${at}`);
        const d = asDict(top(), 'SETITEMS');
        for (let i = 0; i < items.length; i += 2) d.set(keyOf(items[i]), items[i + 1]);
        break;
      }
      case 0x51:
        push(opts.persistentLoad(pop()));
        break; // BINPERSID
      case 0x50:
        push(opts.persistentLoad(line()));
        break; // PERSID
      case 0x52: {
        // REDUCE: apply one of the known globals to an argument tuple
        const args = pop();
        const fn = pop();
        push(apply(fn, args, bad, at));
        break;
      }
      case 0x81: {
        // NEWOBJ: cls.__new__(cls, *args) — only OrderedDict qualifies
        const args = pop();
        const cls = pop();
        push(apply(cls, args, bad, at));
        break;
      }
      case 0x62: {
        // BUILD: state for the object below. A state dict's OrderedDict gets {'_metadata': …},
        // a tensor may get backward hooks; both are ignored — they carry no weights.
        const state = pop();
        top();
        void state;
        break;
      }
      case 0x30:
        pop();
        break; // POP
      case 0x31:
        popMark();
        break; // POP_MARK
      case 0x32:
        push(top());
        break; // DUP
      default:
        bad(`unsupported opcode 0x${op.toString(16).padStart(2, '0')} at byte ${at}`);
    }
  }
}

function tupleItems(v: PyValue, bad: (why: string) => never, at: number): PyValue[] {
  if (!(v instanceof PyTuple)) bad(`call arguments are not a tuple at byte ${at}`);
  return (v as PyTuple).items;
}

function apply(fn: PyValue, argsV: PyValue, bad: (why: string) => never, at: number): PyValue {
  if (!(fn instanceof PyGlobalValue)) return bad(`call of a non-callable at byte ${at}`);
  const args = tupleItems(argsV, bad, at);
  const g = fn.global;
  const ints = (v: PyValue, what: string): number[] => {
    const items = v instanceof PyTuple ? v.items : Array.isArray(v) ? v : null;
    if (!items || !items.every((d) => typeof d === 'number' && Number.isInteger(d) && d >= 0))
      bad(`${what} is not a tuple of sizes at byte ${at}`);
    return items as number[];
  };
  switch (g.g) {
    case 'OrderedDict': {
      const d = new Map<PyValue, PyValue>();
      // OrderedDict([(k, v), …]) as an older protocol may write it
      if (args.length === 1 && Array.isArray(args[0])) {
        for (const kv of args[0]) {
          if (!(kv instanceof PyTuple) || kv.items.length !== 2)
            bad(`bad OrderedDict item at byte ${at}`);
          d.set((kv as PyTuple).items[0], (kv as PyTuple).items[1]);
        }
      }
      return d;
    }
    case 'rebuild_tensor_v2':
    case 'rebuild_tensor': {
      // (storage, storage_offset, size, stride[, requires_grad, backward_hooks[, metadata]])
      const [storage, offset, size, stride] = args;
      if (!isStorage(storage)) bad(`tensor without a storage at byte ${at}`);
      if (typeof offset !== 'number' || !Number.isInteger(offset) || offset < 0)
        bad(`bad storage offset at byte ${at}`);
      const shape = ints(size, 'tensor size');
      const strides = ints(stride, 'tensor stride');
      if (strides.length !== shape.length)
        bad(`tensor size and stride differ in rank at byte ${at}`);
      return {
        kind: 'tensor',
        storage: storage as StorageRef,
        offset: offset as number,
        shape,
        stride: strides,
      };
    }
    case 'rebuild_parameter': {
      const t = args[0];
      if (!isTensor(t)) bad(`parameter without a tensor at byte ${at}`);
      return t;
    }
    case 'storage_class':
      return bad(`storage class called directly at byte ${at}`);
  }
}

export function isStorage(v: PyValue | undefined): v is StorageRef {
  return (
    typeof v === 'object' &&
    v !== null &&
    !(v instanceof Map) &&
    !Array.isArray(v) &&
    (v as StorageRef).kind === 'storage'
  );
}

export function isTensor(v: PyValue | undefined): v is TensorRef {
  return (
    typeof v === 'object' &&
    v !== null &&
    !(v instanceof Map) &&
    !Array.isArray(v) &&
    (v as TensorRef).kind === 'tensor'
  );
}

/** torch's persistent id: ('storage', <storage class>, key, location, numel[, view_metadata]). */
export function storageFromPid(pid: PyValue, bad: (why: string) => never): StorageRef {
  if (!(pid instanceof PyTuple) || pid.items.length < 5 || pid.items[0] !== 'storage')
    return bad('unknown persistent id');
  const [, cls, key, , numel] = pid.items;
  if (!(cls instanceof PyGlobalValue) || cls.global.g !== 'storage_class')
    return bad('persistent id without a storage class');
  if (typeof key !== 'string' && typeof key !== 'number')
    return bad('persistent id with a bad key');
  if (typeof numel !== 'number' || !Number.isInteger(numel) || numel < 0)
    return bad('persistent id with a bad size');
  return { kind: 'storage', dtype: cls.global.dtype, key: String(key), numel };
}
