/**
 * What `npm run build` (tsconfig.build.json, the Docker image's dist) compiles: the service, its
 * services and the demo's fixtures, and none of the tests' helpers, even when imported.
 */
import { relative } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

function builtFiles(): string[] {
  const parsed = ts.getParsedCommandLineOfConfigFile("tsconfig.build.json", undefined, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new Error(ts.flattenDiagnosticMessageText(d.messageText, "\n"));
    },
  });
  if (!parsed) throw new Error("tsconfig.build.json could not be read");
  // Only the project's own files matter: libraries are read as empty files, which keeps this fast.
  const host = ts.createCompilerHost(parsed.options);
  const readSource = host.getSourceFile.bind(host);
  host.getSourceFile = (fileName, language, ...rest) =>
    fileName.includes("/node_modules/")
      ? ts.createSourceFile(fileName, "", language)
      : readSource(fileName, language, ...rest);
  const program = ts.createProgram({
    rootNames: parsed.fileNames,
    options: { ...parsed.options, noLib: true },
    host,
  });
  return program
    .getSourceFiles()
    .map((f) => relative(process.cwd(), f.fileName))
    .filter((f) => !f.startsWith("node_modules/") && !f.endsWith(".d.ts"));
}

describe("the build", () => {
  it("compiles src, cds-services and fixtures, and no test, test helper or test builder", () => {
    const files = builtFiles();
    expect(files).toContain("src/main.ts");
    expect(files).toContain("fixtures/index.ts");
    const testOnly = files.filter(
      (f) =>
        f.endsWith(".test.ts") ||
        f.startsWith("test/") ||
        f === "fixtures/build.ts" ||
        f === "src/clinical/test-facts.ts",
    );
    expect(testOnly).toEqual([]);
  });
});
