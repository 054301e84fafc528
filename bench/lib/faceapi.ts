/**
 * Real trained weights from the npm registry: the models that `@vladmandic/face-api` (MIT) ships in
 * its `model/` folder, in TensorFlow.js's weights format (a JSON manifest + one binary shard; most
 * tensors stored as uint8 with a per-tensor affine map value = q * scale + min). Read here and
 * re-laid out as PyTorch stores them, so a safetensors file written from them looks like a PyTorch
 * checkpoint: conv kernels [kh, kw, in, out] -> [out, in, kh, kw], depthwise [kh, kw, in, mult] ->
 * [in * mult, 1, kh, kw], dense [in, out] -> [out, in].
 *
 * Used by the compress bench and the CLI tests (devDependency only; nothing is committed).
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';

export interface RealTensor {
  name: string;
  /** PyTorch layout (see the module comment). */
  shape: number[];
  data: Float32Array;
  /** True when the registry file stores the tensor as 8-bit codes (256 levels per tensor). */
  quantized: boolean;
}

interface ManifestWeight {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { dtype: string; scale?: number; min?: number };
}

export const FACE_API_MODELS = [
  'ssd_mobilenetv1_model',
  'face_recognition_model',
  'face_landmark_68_model',
  'age_gender_model',
  'face_expression_model',
] as const;

/** The folder holding the face-api models, or null when the devDependency is not installed. */
export function faceApiModelDir(): string | null {
  try {
    const req = createRequire(import.meta.url);
    return path.join(path.dirname(req.resolve('@vladmandic/face-api/package.json')), 'model');
  } catch {
    return null;
  }
}

const BYTES: Record<string, number> = { float32: 4, int32: 4, uint8: 1, uint16: 2, float16: 2 };

function half(h: number): number {
  const e = (h >> 10) & 31,
    f = h & 1023,
    s = h & 0x8000 ? -1 : 1;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? Number.NaN : s * Number.POSITIVE_INFINITY;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

/** Every float tensor of one face-api model, in PyTorch layout. */
export async function readFaceApiModel(model: string, dir = faceApiModelDir()): Promise<RealTensor[]> {
  if (!dir) throw new Error('readFaceApiModel: the devDependency @vladmandic/face-api is not installed');
  const manifest = JSON.parse(await readFile(path.join(dir, `${model}-weights_manifest.json`), 'utf8')) as Array<{
    paths: string[];
    weights: ManifestWeight[];
  }>;
  const out: RealTensor[] = [];
  for (const group of manifest) {
    const bufs = await Promise.all(group.paths.map((p) => readFile(path.join(dir, p))));
    const bin = Buffer.concat(bufs);
    let off = 0;
    for (const w of group.weights) {
      const n = w.shape.reduce((a, b) => a * b, 1);
      const q = w.quantization;
      const stored = q?.dtype ?? w.dtype;
      const width = BYTES[stored];
      if (width === undefined) throw new Error(`readFaceApiModel: ${model}: tensor ${w.name} has unknown dtype ${stored}`);
      const bytes = n * width;
      if (off + bytes > bin.length) throw new Error(`readFaceApiModel: ${model}: tensor ${w.name} runs past the shard`);
      const view = new DataView(bin.buffer, bin.byteOffset + off, bytes);
      off += bytes;
      if (w.dtype !== 'float32') continue;
      const v = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        if (stored === 'uint8') v[i] = view.getUint8(i) * (q?.scale ?? 1) + (q?.min ?? 0);
        else if (stored === 'uint16') v[i] = view.getUint16(2 * i, true) * (q?.scale ?? 1) + (q?.min ?? 0);
        else if (stored === 'float16') v[i] = half(view.getUint16(2 * i, true));
        else v[i] = view.getFloat32(4 * i, true);
      }
      const t = torchLayout(w.name, w.shape, v);
      out.push({ name: w.name.replace(/\//g, '.'), shape: t.shape, data: t.data, quantized: stored !== 'float32' });
    }
  }
  return out;
}

/** TF.js layouts -> PyTorch layouts (module comment). */
function torchLayout(name: string, shape: number[], v: Float32Array): { shape: number[]; data: Float32Array } {
  if (shape.length === 4) {
    const [kh, kw, cin, cout] = shape;
    const depthwise = /depthwise/i.test(name);
    const o = depthwise ? cin * cout : cout;
    const i = depthwise ? 1 : cin;
    const d = new Float32Array(v.length);
    for (let y = 0; y < kh; y++)
      for (let x = 0; x < kw; x++)
        for (let c = 0; c < cin; c++)
          for (let k = 0; k < cout; k++) {
            const src = ((y * kw + x) * cin + c) * cout + k;
            const oo = depthwise ? c * cout + k : k;
            const ii = depthwise ? 0 : c;
            d[((oo * i + ii) * kh + y) * kw + x] = v[src];
          }
    return { shape: [o, i, kh, kw], data: d };
  }
  if (shape.length === 2) {
    const [cin, cout] = shape;
    const d = new Float32Array(v.length);
    for (let c = 0; c < cin; c++) for (let k = 0; k < cout; k++) d[k * cin + c] = v[c * cout + k];
    return { shape: [cout, cin], data: d };
  }
  return { shape: shape.slice(), data: v };
}
