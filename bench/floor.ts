/**
 * The benchmark's floor: a bare express app that parses the same JSON body (same size limit as
 * ln-cds) and answers `{"cards":[]}`. Run as its own process, like the service.
 *
 *   PORT=… node dist/bench/floor.js
 */
import express from "express";

const app = express();
app.disable("x-powered-by");
app.use(express.json({ limit: "1mb" }));
app.post("/cds-services/:id", (_req, res) => {
  res.json({ cards: [] });
});
app.get("/healthz", (_req, res) => {
  res.json({ status: "ok" });
});
app.listen(Number(process.env.PORT), "127.0.0.1");
