/**
 * Multinomial logistic regression over sparse features, trained with AdaGrad. Small and dependency
 * free: ~1,500 phrasings and ~80 labels train in well under a second at start-up.
 */
export interface TrainedModel {
  labels: string[];
  features: string[];
  /** Feature-major: the weight of feature f for label c is weights[f * labels.length + c]. */
  weights: Float64Array;
  bias: Float64Array;
}

export class SoftmaxClassifier {
  private readonly weights: Float64Array;
  private readonly bias: Float64Array;
  private readonly featureIndex = new Map<string, number>();
  readonly labels: string[];

  /** A classifier from a model trained before (same content, same code). */
  static fromModel(model: TrainedModel): SoftmaxClassifier {
    return new SoftmaxClassifier(model.labels, [], {}, model);
  }

  toModel(): TrainedModel {
    return { labels: this.labels, features: [...this.featureIndex.keys()], weights: this.weights, bias: this.bias };
  }

  constructor(
    labels: string[],
    examples: Array<{ label: string; features: Map<string, number> }>,
    options: { epochs?: number; learningRate?: number; l2?: number; seed?: number } = {},
    trained?: TrainedModel
  ) {
    this.labels = labels;
    if (trained) {
      trained.features.forEach((f, i) => this.featureIndex.set(f, i));
      this.weights = trained.weights;
      this.bias = trained.bias;
      return;
    }
    for (const e of examples) for (const k of e.features.keys()) if (!this.featureIndex.has(k)) this.featureIndex.set(k, this.featureIndex.size);
    const C = labels.length;
    const F = this.featureIndex.size;
    // Feature-major layout (weights[f * C + c]): an example touches a few features, and all classes of
    // one feature sit together, so training walks memory in order instead of jumping by F every class.
    const weights = (this.weights = new Float64Array(C * F));
    const bias = (this.bias = new Float64Array(C));
    const gradSq = new Float64Array(C * F).fill(1e-8);
    const biasSq = new Float64Array(C).fill(1e-8);
    const labelIndex = new Map(labels.map((l, i) => [l, i]));
    const data = examples.map((e) => ({
      y: labelIndex.get(e.label)!,
      idx: Int32Array.from([...e.features.keys()].map((k) => this.featureIndex.get(k)!)),
      val: Float64Array.from(e.features.values())
    }));
    const epochs = options.epochs ?? 25;
    const lr = options.learningRate ?? 0.5;
    const l2 = options.l2 ?? 1e-4;
    let seed = options.seed ?? 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    const scores = new Float64Array(C);
    for (let epoch = 0; epoch < epochs; epoch++) {
      for (let i = data.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [data[i], data[j]] = [data[j]!, data[i]!];
      }
      for (const ex of data) {
        const { idx, val } = ex;
        this.scoresInto(idx, val, scores);
        softmaxInPlace(scores);
        for (let c = 0; c < C; c++) {
          const g = scores[c]! - (c === ex.y ? 1 : 0);
          if (Math.abs(g) < 1e-3) continue;
          for (let n = 0; n < idx.length; n++) {
            const w = idx[n]! * C + c;
            const grad = g * val[n]! + l2 * weights[w]!;
            gradSq[w]! += grad * grad;
            weights[w]! -= (lr * grad) / Math.sqrt(gradSq[w]!);
          }
          biasSq[c]! += g * g;
          bias[c]! -= (lr * g) / Math.sqrt(biasSq[c]!);
        }
      }
    }
  }

  /** Probability of each label for a feature vector. */
  predict(features: Map<string, number>): Float64Array {
    const idx: number[] = [];
    const val: number[] = [];
    for (const [k, v] of features) {
      const i = this.featureIndex.get(k);
      if (i !== undefined) {
        idx.push(i);
        val.push(v);
      }
    }
    const scores = new Float64Array(this.labels.length);
    this.scoresInto(Int32Array.from(idx), Float64Array.from(val), scores);
    return softmaxInPlace(scores);
  }

  /** Each class's score: its bias plus its weights times the values, summed in feature order. */
  private scoresInto(idx: Int32Array, val: Float64Array, out: Float64Array): void {
    const C = out.length;
    const weights = this.weights;
    out.set(this.bias);
    for (let n = 0; n < idx.length; n++) {
      const base = idx[n]! * C;
      const v = val[n]!;
      for (let c = 0; c < C; c++) out[c]! += weights[base + c]! * v;
    }
  }
}

function softmaxInPlace(v: Float64Array): Float64Array {
  let max = -Infinity;
  for (const x of v) if (x > max) max = x;
  let sum = 0;
  for (let i = 0; i < v.length; i++) {
    v[i] = Math.exp(v[i]! - max);
    sum += v[i]!;
  }
  for (let i = 0; i < v.length; i++) v[i]! /= sum;
  return v;
}
