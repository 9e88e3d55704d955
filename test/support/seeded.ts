/**
 * A fixed pseudo-random sequence for tests that try many generated inputs: a linear
 * congruential generator, so the same seed gives the same inputs and a failure can be replayed.
 */
const MODULUS = 2147483648; // 2^31

export interface SeededSequence {
  /** The next state: an integer in [0, 2^31). */
  readonly state: () => number;
  /** The next number in [0, 1). */
  readonly float: () => number;
  /** The next integer in [0, n). */
  readonly below: (n: number) => number;
}

export function seeded(seed: number): SeededSequence {
  let current = seed;
  const state = (): number => (current = (current * 1103515245 + 12345) % MODULUS);
  return {
    state,
    float: () => state() / MODULUS,
    below: (n) => Math.floor((state() / MODULUS) * n),
  };
}
