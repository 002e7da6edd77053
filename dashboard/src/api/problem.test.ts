import { describe, expect, it } from "vitest";
import { ApiError, formErrors, isProblem, pointerToPath, showFieldErrors } from "./problem";

describe("pointerToPath", () => {
  it("turns JSON pointers into form paths", () => {
    expect(pointerToPath("")).toEqual([]);
    expect(pointerToPath("/name")).toEqual(["name"]);
    expect(pointerToPath("/owner/email")).toEqual(["owner", "email"]);
    expect(pointerToPath("/items/2/hash")).toEqual(["items", 2, "hash"]);
    expect(pointerToPath("/labels/a~1b/c~0d")).toEqual(["labels", "a/b", "c~d"]);
    // Leading zeros are keys, not indexes (RFC 6901).
    expect(pointerToPath("/items/02")).toEqual(["items", "02"]);
  });
});

describe("formErrors", () => {
  it("groups several messages of one field", () => {
    expect(
      formErrors([
        { pointer: "/name", detail: "too long" },
        { pointer: "/policy/threshold_percentage", detail: "1–100" },
        { pointer: "/name", detail: "taken" },
      ]),
    ).toEqual([
      { name: ["name"], errors: ["too long", "taken"] },
      { name: ["policy", "threshold_percentage"], errors: ["1–100"] },
    ]);
  });
});

describe("ApiError", () => {
  const problem = {
    type: "https://consortia.dev/problems/validation",
    title: "Unprocessable Entity",
    status: 422,
    detail: "the request has invalid fields",
    errors: [{ pointer: "", detail: "unknown field `x`" }],
  };

  it("shows the problem's detail", () => {
    expect(isProblem(problem)).toBe(true);
    expect(isProblem({ message: "no" })).toBe(false);
    const e = new ApiError(422, problem);
    expect(e.message).toBe("the request has invalid fields");
    expect(e.fieldErrors).toHaveLength(1);
    expect(new ApiError(502, undefined, "Bad Gateway").message).toBe("Bad Gateway");
  });

  it("puts field errors on the form, the whole body's on the chosen field", () => {
    const set: unknown[] = [];
    const form = { setFields: (f: never[]) => set.push(...f) };
    expect(showFieldErrors(form, new ApiError(422, problem), "token")).toBe(true);
    expect(set).toEqual([{ name: ["token"], errors: ["unknown field `x`"] }]);
    expect(showFieldErrors(form, new Error("network"))).toBe(false);
  });
});

