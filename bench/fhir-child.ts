/**
 * The bench's FHIR server in its own process, so Medplum's search work and garbage collection
 * do not stall the measuring client: the demo FHIR server holding the synthetic patient, every
 * answer delayed FHIR_DELAY_MS, each request timed from its arrival (or, with
 * BENCH_MONITOR_PATIENTS, the safety monitor's backlog of changed patients). `GET /__timings` returns
 * and clears the timings.
 *
 *   PORT=… FHIR_DELAY_MS=50 node dist/bench/fhir-child.js
 */
import express from "express";
import { createFhirServerApp } from "../src/fhir-server/index.js";
import { monitorBacklog } from "./monitor.js";
import { syntheticPatient } from "./synthetic.js";

const now = new Date(Number(process.env.BENCH_NOW ?? Date.now()));
// BENCH_MONITOR_PATIENTS: the monitor's backlog (bench/monitor.ts) instead of the synthetic patient.
const backlog = Number(process.env.BENCH_MONITOR_PATIENTS ?? "0");
const resources = backlog > 0 ? monitorBacklog(now, backlog).resources : syntheticPatient(now);
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
