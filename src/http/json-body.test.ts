import { describe, expect, it } from "vitest";
import { OperationOutcomeError } from "../outcomes.js";
import { parseUntrustedJson } from "./json-body.js";

const bytes = (s: string) => Buffer.from(s, "utf8");

describe("parseUntrustedJson", () => {
  it("parses an ordinary hook request", () => {
    expect(
      parseUntrustedJson(bytes('{"hook":"patient-view","context":{"patientId":"1"}}')),
    ).toEqual({
      hook: "patient-view",
      context: { patientId: "1" },
    });
  });

  it("drops __proto__ keys so nothing can reach Object.prototype", () => {
    const parsed = parseUntrustedJson(
      bytes('{"a":{"__proto__":{"polluted":true}},"__proto__":{"polluted":true}}'),
    ) as Record<string, unknown>;
    expect(Object.keys(parsed)).toEqual(["a"]);
    Object.assign({}, parsed.a);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("drops __proto__ keys spelled with JSON escapes and inside arrays", () => {
    const parsed = parseUntrustedJson(
      bytes('{"list":[{"__pro\\u0074o__":{"polluted":true},"keep":1}],"\\u005f_proto__":{"x":1}}'),
    ) as { list: Record<string, unknown>[] };
    expect(parsed).toEqual({ list: [{ keep: 1 }] });
    expect(Object.hasOwn(parsed.list[0] ?? {}, "__proto__")).toBe(false);
    expect(Object.hasOwn(parsed, "__proto__")).toBe(false);
  });

  it("keeps constructor keys as plain data", () => {
    expect(parseUntrustedJson(bytes('{"constructor":{"prototype":1}}'))).toEqual({
      constructor: { prototype: 1 },
    });
  });

  it("refuses nesting 10,000 deep without exhausting the stack", () => {
    const deep = "[".repeat(10_000) + "]".repeat(10_000);
    expect(() => parseUntrustedJson(bytes(deep))).toThrow(/nests deeper than 100 levels/);
    const deepObject = '{"a":'.repeat(10_000) + "1" + "}".repeat(10_000);
    expect(() => parseUntrustedJson(bytes(deepObject))).toThrow(OperationOutcomeError);
  });

  it("does not count brackets inside strings, escaped quotes included", () => {
    const text = JSON.stringify({ note: "[[[[" + '\\"[[[' + "{{{{", list: [[1]] });
    expect(parseUntrustedJson(bytes(text), 3)).toEqual(JSON.parse(text));
    expect(() => parseUntrustedJson(bytes("[[[[]]]]"), 3)).toThrow(/deeper than 3/);
    expect(parseUntrustedJson(bytes("[[[1]]]"), 3)).toEqual([[[1]]]);
  });

  it("refuses invalid UTF-8", () => {
    const invalid = Buffer.concat([bytes('{"id":"'), Buffer.from([0xc3, 0x28]), bytes('"}')]);
    expect(() => parseUntrustedJson(invalid)).toThrow(/UTF-8/);
  });

  it("refuses text that is not JSON", () => {
    expect(() => parseUntrustedJson(bytes("{hook:"))).toThrow(/not valid JSON/);
  });

  it("lets the last of duplicate keys win, as JSON.parse does", () => {
    expect(parseUntrustedJson(bytes('{"hook":"a","hook":"patient-view"}'))).toEqual({
      hook: "patient-view",
    });
  });
});
