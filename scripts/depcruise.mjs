/**
 * Runs the import rules of .dependency-cruiser.cjs over the project (part of `npm run lint`).
 *
 * Through dependency-cruiser's API, so the same options reach it however the script is started.
 * dependency-cruiser is held at 17.x: 18 declares Node >= 22, and the project runs on Node 20.
 * Exit 1 and one line per violation when a rule is broken.
 */
import { cruise, format } from "dependency-cruiser";
import extractDepcruiseOptions from "dependency-cruiser/config-utl/extract-depcruise-options";

// The rules constrain these folders only; what they import is followed from here.
const ROOTS = ["src", "cds-services"];

const options = await extractDepcruiseOptions("./.dependency-cruiser.cjs");
const result = await cruise(ROOTS, { ...options, validate: true }, undefined, {
  tsConfig: { fileName: "tsconfig.json" },
});
const report = await format(result.output, { outputType: "err" });
process.stdout.write(report.output);
process.exitCode = report.exitCode > 0 ? 1 : 0;
