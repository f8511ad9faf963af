/**
 * A small seeded PRNG (mulberry32) so that one policy or one input can be regenerated from `(seed, index)`
 * alone: the long run's findings are reproducible with `--seed S --only N`, and the bounded slice in `npm test`
 * decides the same cases on every machine.
 */
export class Rng {
  private state: number;

  constructor(...seeds: number[]) {
    // FNV-1a over the seed words, so that (seed, 1) and (seed + 1, 0) give unrelated streams.
    let h = 0x811c9dc5;
    for (const s of seeds) {
      for (let i = 0; i < 4; i++) {
        h ^= (s >>> (i * 8)) & 0xff;
        h = Math.imul(h, 0x01000193);
      }
    }
    this.state = h >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Uniform integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[this.int(items.length)]!;
  }

  /** One of `choices`, each with its weight. */
  weighted<T>(choices: readonly (readonly [number, T])[]): T {
    const total = choices.reduce((s, [w]) => s + w, 0);
    let r = this.next() * total;
    for (const [w, v] of choices) {
      r -= w;
      if (r < 0) return v;
    }
    return choices[choices.length - 1]![1];
  }
}
