import { describe, expect, it } from "vitest";
import { proposalField } from "./AllianceDetail";

describe("errors inside a proposal's action", () => {
  it("land on the form field holding that value", () => {
    expect(proposalField(["action", "invite_member", "tenant_id"])).toEqual(["tenant_id"]);
    expect(proposalField(["action", "remove_member", "tenant_id"])).toEqual(["member"]);
    expect(proposalField(["action", "change_policy", "policy", "threshold_percentage"])).toEqual(["policy", "threshold_percentage"]);
    expect(proposalField(["action", "create_chain", "nodes_per_member"])).toEqual(["chain", "nodes_per_member"]);
    expect(proposalField(["description"])).toEqual(["description"]);
  });
});
