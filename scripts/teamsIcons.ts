import { deflateSync } from 'node:zlib';

/** An 8-bit RGBA image, row by row. */
export interface RgbaImage {
  width: number;
  height: number;
  data: Uint8Array;
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, body: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(body.length, 0);
  head.write(type, 4, 'ascii');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), body])), 0);
  return Buffer.concat([head, body, crc]);
}

/** A truecolour-with-alpha PNG (colour type 6, 8 bits), every row with filter 0. */
export function encodePng(image: RgbaImage): Buffer {
  const { width, height, data } = image;
  if (data.length !== width * height * 4) throw new Error(`expected ${width * height * 4} bytes of RGBA, got ${data.length}`);
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 6, 0, 0, 0], 8);
  const rows = Buffer.alloc(height * (width * 4 + 1));
  for (let y = 0; y < height; y++) {
    rows[y * (width * 4 + 1)] = 0;
    rows.set(data.subarray(y * width * 4, (y + 1) * width * 4), y * (width * 4 + 1) + 1);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(rows, { level: 9 })),
    chunk('IEND', new Uint8Array(0))
  ]);
}

// Shapes as signed distances (negative inside, in pixels), so edges get anti-aliased coverage for free.
type Sdf = (x: number, y: number) => number;

function roundedRect(x0: number, y0: number, x1: number, y1: number, r: number): Sdf {
  const cx = (x0 + x1) / 2;
  const cy = (y0 + y1) / 2;
  const hx = (x1 - x0) / 2 - r;
  const hy = (y1 - y0) / 2 - r;
  return (x, y) => {
    const dx = Math.abs(x - cx) - hx;
    const dy = Math.abs(y - cy) - hy;
    return Math.hypot(Math.max(dx, 0), Math.max(dy, 0)) + Math.min(Math.max(dx, dy), 0) - r;
  };
}

function segment(ax: number, ay: number, bx: number, by: number): Sdf {
  return (x, y) => {
    const px = x - ax;
    const py = y - ay;
    const vx = bx - ax;
    const vy = by - ay;
    const t = Math.max(0, Math.min(1, (px * vx + py * vy) / (vx * vx + vy * vy)));
    return Math.hypot(px - vx * t, py - vy * t);
  };
}

/** A stroke of the given width along a polyline, with round caps and joins. */
function stroke(points: Array<[number, number]>, width: number): Sdf {
  const parts = points.slice(1).map((p, i) => segment(points[i]![0], points[i]![1], p[0], p[1]));
  return (x, y) => Math.min(...parts.map((s) => s(x, y))) - width / 2;
}

/** A triangle (any winding). */
function triangle(a: [number, number], b: [number, number], c: [number, number]): Sdf {
  const edges = [segment(a[0], a[1], b[0], b[1]), segment(b[0], b[1], c[0], c[1]), segment(c[0], c[1], a[0], a[1])];
  const side = (p: [number, number], q: [number, number], x: number, y: number) => (q[0] - p[0]) * (y - p[1]) - (q[1] - p[1]) * (x - p[0]);
  return (x, y) => {
    const d = Math.min(...edges.map((e) => e(x, y)));
    const s1 = side(a, b, x, y);
    const s2 = side(b, c, x, y);
    const s3 = side(c, a, x, y);
    const inside = (s1 >= 0 && s2 >= 0 && s3 >= 0) || (s1 <= 0 && s2 <= 0 && s3 <= 0);
    return inside ? -d : d;
  };
}

const union = (...shapes: Sdf[]): Sdf => (x, y) => Math.min(...shapes.map((s) => s(x, y)));
/** The band of width w centred on a shape's edge. */
const outline = (shape: Sdf, w: number): Sdf => (x, y) => Math.abs(shape(x, y)) - w / 2;
/** Pixel coverage of a shape at a pixel centre: a one-pixel linear ramp across the edge. */
const coverage = (shape: Sdf, x: number, y: number) => Math.max(0, Math.min(1, 0.5 - shape(x + 0.5, y + 0.5)));

type Rgb = [number, number, number];

function paint(width: number, height: number, layers: Array<{ shape: Sdf; color: Rgb | ((x: number, y: number) => Rgb) }>): RgbaImage {
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let r = 0;
      let g = 0;
      let b = 0;
      let a = 0;
      for (const layer of layers) {
        const c = coverage(layer.shape, x, y);
        if (c === 0) continue;
        const [lr, lg, lb] = typeof layer.color === 'function' ? layer.color(x, y) : layer.color;
        // "Over" compositing with premultiplied colour.
        r = lr * c + r * (1 - c);
        g = lg * c + g * (1 - c);
        b = lb * c + b * (1 - c);
        a = c + a * (1 - c);
      }
      const i = (y * width + x) * 4;
      data[i] = a > 0 ? Math.round(r / a) : 0;
      data[i + 1] = a > 0 ? Math.round(g / a) : 0;
      data[i + 2] = a > 0 ? Math.round(b / a) : 0;
      data[i + 3] = Math.round(a * 255);
    }
  }
  return { width, height, data };
}

/** The app's accent colour (also the manifest's accentColor). */
export const ACCENT = '#1E4E79';
const NAVY_TOP: Rgb = [0x23, 0x5c, 0x8f];
const NAVY_BOTTOM: Rgb = [0x17, 0x3d, 0x61];
const WHITE: Rgb = [255, 255, 255];
const GREEN: Rgb = [0x1f, 0x9d, 0x6b];

/**
 * 192×192 full-colour icon: a white speech bubble with a green check mark on a blue field. Teams
 * rounds the corners itself; the symbol stays inside the central safe area.
 */
export function colorIcon(): RgbaImage {
  const size = 192;
  const bubble = union(roundedRect(46, 50, 146, 126, 20), triangle([64, 118], [62, 150], [96, 120]));
  const check = stroke([[72, 88], [90, 106], [122, 72]], 15);
  const field: Sdf = () => -1;
  const gradient = (_x: number, y: number): Rgb => NAVY_TOP.map((top, i) => Math.round(top + ((NAVY_BOTTOM[i]! - top) * y) / (size - 1))) as Rgb;
  return paint(size, size, [
    { shape: field, color: gradient },
    { shape: bubble, color: WHITE },
    { shape: check, color: GREEN }
  ]);
}

/** 32×32 outline icon: the same bubble and check in white lines on a transparent background. */
export function outlineIcon(): RgbaImage {
  const size = 32;
  const bubble = union(roundedRect(3, 4, 29, 23, 5), triangle([7.5, 21], [7, 29.5], [14, 22]));
  const check = stroke([[10, 13.5], [13.5, 17], [21.5, 9.5]], 2.5);
  return paint(size, size, [
    { shape: outline(bubble, 2), color: WHITE },
    { shape: check, color: WHITE }
  ]);
}
