/**
 * Loaded into the benchmarked service only (`node --import dist/bench/fhir-client-timing.js`):
 * times every outgoing HTTP request of the service where the service meets it, from the
 * request's creation to the last byte of its answer, through node's own diagnostics channels.
 * The bench asks for the timings over the IPC channel after each invocation ("fhir-timings").
 *
 * Why: the FHIR server's own clock starts when its HTTP parser has read a request and stops when
 * its answer is handed to the kernel, so the wire, its wake-up and our reading of the answer
 * would be counted as time ln-cds adds. Nothing here changes what the service does.
 */
import { subscribe } from "node:diagnostics_channel";
import type { ClientRequest, IncomingMessage } from "node:http";

interface Timing {
  start: number;
  end: number;
}

const started = new WeakMap<ClientRequest, number>();
let timings: Timing[] = [];

subscribe("http.client.request.start", (message) => {
  const { request } = message as { request: ClientRequest };
  started.set(request, performance.now());
});

// Published when the answer's headers are parsed; the request ends with the last byte read.
subscribe("http.client.response.finish", (message) => {
  const { request, response } = message as { request: ClientRequest; response: IncomingMessage };
  const start = started.get(request);
  if (start === undefined) return;
  response.once("end", () => {
    timings.push({ start, end: performance.now() });
  });
});

process.on("message", (message) => {
  if (message !== "fhir-timings") return;
  process.send?.({ fhirTimings: timings });
  timings = [];
});
