import { describe, expect, it } from "vitest";
import { clientKey } from "./rate-limit.js";

describe("clientKey: the address a client is counted under", () => {
  it("an IPv4 address as it is", () => {
    expect(clientKey("203.0.113.7")).toBe("203.0.113.7");
    expect(clientKey("127.0.0.1")).toBe("127.0.0.1");
  });

  it("an IPv4-mapped IPv6 address as its IPv4 address, so one client is one count", () => {
    expect(clientKey("::ffff:203.0.113.7")).toBe("203.0.113.7");
  });

  it("an IPv6 address by its /56 network: one subscriber cannot rotate addresses past the limit", () => {
    const a = clientKey("2001:db8:1234:5600::1");
    expect(a).toBe(clientKey("2001:db8:1234:56ff:ffff:ffff:ffff:ffff"));
    expect(a).not.toBe(clientKey("2001:db8:1234:5700::1"));
    expect(a).toMatch(/^2001:db8:1234:5600::\/56$/);
  });

  it("no address (the socket already gone): one shared key, never undefined", () => {
    expect(clientKey(undefined)).toBe("");
  });
});
