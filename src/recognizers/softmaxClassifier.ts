/**
 * Multinomial logistic regression over sparse features, trained with AdaGrad. Small and dependency
 * free: ~1,500 phrasings and ~80 labels train in well under a second at start-up.
 */
export interface TrainedModel {
  labels: string[];
  features: string[];
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
    this.weights = new Float64Array(C * F);
    this.bias = new Float64Array(C);
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
        this.scoresInto(ex.idx, ex.val, scores);
        softmaxInPlace(scores);
        for (let c = 0; c < C; c++) {
          const g = scores[c]! - (c === ex.y ? 1 : 0);
          if (Math.abs(g) < 1e-3) continue;
          const base = c * F;
          for (let n = 0; n < ex.idx.length; n++) {
            const w = base + ex.idx[n]!;
            const grad = g * ex.val[n]! + l2 * this.weights[w]!;
            gradSq[w]! += grad * grad;
            this.weights[w]! -= (lr * grad) / Math.sqrt(gradSq[w]!);
          }
          biasSq[c]! += g * g;
          this.bias[c]! -= (lr * g) / Math.sqrt(biasSq[c]!);
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

  private scoresInto(idx: Int32Array, val: Float64Array, out: Float64Array): void {
    const F = this.featureIndex.size;
    for (let c = 0; c < out.length; c++) {
      let s = this.bias[c]!;
      const base = c * F;
      for (let n = 0; n < idx.length; n++) s += this.weights[base + idx[n]!]! * val[n]!;
      out[c] = s;
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
