/**
 * The bench's FHIR server in its own process, so Medplum's search work and garbage collection
 * do not stall the measuring client: the demo FHIR server holding the synthetic patient, every
 * answer delayed FHIR_DELAY_MS, each request timed from its arrival. `GET /__timings` returns
 * and clears the timings.
 *
 *   PORT=… FHIR_DELAY_MS=50 node dist/bench/fhir-child.js
 */
import express from "express";
import { createFhirServerApp } from "../src/fhir-server/index.js";
import { syntheticPatient } from "./synthetic.js";

const resources = syntheticPatient(new Date(Number(process.env.BENCH_NOW ?? Date.now())));
const fhir = await createFhirServerApp({
  bundles: [
    {
      resourceType: "Bundle",
      type: "collection",
      entry: resources.map((resource) => ({ resource })),
    },
  ],
  delayMs: Number(process.env.FHIR_DELAY_MS ?? "50"),
});
let timings: { start: number; end: number }[] = [];
const app = express();
app.get("/__timings", (_req, res) => {
  res.json(timings);
  timings = [];
});
app.get("/healthz", (_req, res) => {
  res.json({ status: "ok" });
});
app.use((_req, res, next) => {
  const start = performance.now();
  res.on("finish", () => {
    timings.push({ start, end: performance.now() });
  });
  next();
});
app.use(fhir.app);
app.listen(Number(process.env.PORT), "127.0.0.1");
