import { describe, expect, it } from "vitest";
import { defaults, present } from "./SchemaFields";

describe("template parameter forms", () => {
  it("start from the schema's defaults and send only what is filled", () => {
    const schema = {
      properties: {
        hash_algorithm: { type: "string", enum: ["sha256"], default: "sha256" },
        retention_days: { type: "integer", default: 3650 },
        notify_webhook: { type: "string" },
      },
      required: ["hash_algorithm", "retention_days"],
    };
    expect(defaults(schema)).toEqual({ hash_algorithm: "sha256", retention_days: 3650 });
    expect(present({ hash_algorithm: "sha256", notify_webhook: "", retention_days: 0, x: null })).toEqual({
      hash_algorithm: "sha256",
      retention_days: 0,
    });
  });
});
