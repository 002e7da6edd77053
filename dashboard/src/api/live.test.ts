import { describe, expect, it } from "vitest";
import { backOff, staleKeys } from "./live";

describe("staleKeys", () => {
  it("a chain event refreshes that chain and the chain lists", () => {
    expect(staleKeys("chain", { chain_id: "c1", alliance_id: "a1", phase: "running", height: 3, nodes: 4, nodes_running: 4 })).toEqual([["chain", "c1"], ["chains"]]);
  });
  it("an alliance event refreshes the alliance, its proposals and feed, and chains when it is about one", () => {
    const keys = staleKeys("alliance_event", { id: "e", alliance_id: "a1", kind: "chain_created", data: {}, created_at: "" });
    expect(keys).toContainEqual(["alliance", "a1"]);
    expect(keys).toContainEqual(["proposals", "a1"]);
    expect(keys).toContainEqual(["events", "a1"]);
    expect(keys).toContainEqual(["chains"]);
    expect(staleKeys("alliance_event", { id: "e", alliance_id: "a1", kind: "vote_cast", data: {}, created_at: "" })).toContainEqual(["pending-votes"]);
  });
  it("an invitation refreshes the invited tenant's inbox; unknown events nothing", () => {
    expect(staleKeys("invitation", { kind: "invitation_sent", alliance_id: "a", tenant_id: "t", at: "" })).toContainEqual(["invitations", "t"]);
    expect(staleKeys("something", {})).toEqual([]);
  });
});

describe("polling while the feed is down", () => {
  it("backs off as reconnecting keeps failing, up to eight times the interval", () => {
    expect([0, 1, 2, 3, 4, 10].map((n) => backOff(3_000, n))).toEqual([3_000, 3_000, 6_000, 12_000, 24_000, 24_000]);
  });
});
