// autocannon 8 ships no types; only what bench/run.ts uses.
declare module "autocannon" {
  interface Options {
    url: string;
    method?: string;
    connections?: number;
    duration?: number;
    amount?: number;
    headers?: Record<string, string>;
    body?: string;
    /** Requests sent in turn; `setupRequest` rebuilds one before each sending. */
    requests?: readonly Request[];
    /** Milliseconds between samples (default 1000); a fixed amount is seen done at a sample. */
    sampleInt?: number;
  }
  interface Request {
    method?: string;
    path?: string;
    headers?: Record<string, string>;
    body?: string;
    setupRequest?: (request: Request) => Request;
    /** Called with each answer, as it arrives. */
    onResponse?: (status: number, body: string) => void;
  }
  interface Histogram {
    average: number;
    p50: number;
    p99: number;
  }
  interface Requests extends Histogram {
    /** Requests answered in the run. */
    total: number;
  }
  interface Result {
    requests: Requests;
    latency: Histogram;
    errors: number;
    timeouts: number;
    non2xx: number;
    /** Seconds the run took. */
    duration: number;
  }
  function autocannon(options: Options): Promise<Result>;
  export default autocannon;
}
