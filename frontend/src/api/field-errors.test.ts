import { describe, expect, it } from "vitest";
import { ApiError, errorMessage } from "./client";
import { flattenErrors } from "./field-errors";

describe("field errors", () => {
  it("flattens a nested collection-rule error to its path", () => {
    const body = { collection_rules: [{}, { n: ["Ensure this value is greater than or equal to 1."] }] };
    expect(flattenErrors(body)).toEqual({ "collection_rules.1.n": "Ensure this value is greater than or equal to 1." });
    expect(flattenErrors(body, "settings")).toEqual({
      "settings.collection_rules.1.n": "Ensure this value is greater than or equal to 1.",
    });
  });

  it("puts whole-body errors at the empty path and a service error at its field", () => {
    expect(flattenErrors({ non_field_errors: ["val + test too big."] })).toEqual({ "": "val + test too big." });
    expect(flattenErrors({ detail: "Taken.", code: "duplicate_class", field: "name" })).toEqual({ name: "Taken." });
    expect(flattenErrors({ detail: "No.", code: "x" })).toEqual({ "": "No." });
  });

  it("reads the field errors of a 400 that also carries a summary detail", () => {
    const body = { detail: "n: too small", code: "invalid", collection_rules: [{ n: ["Too small."] }] };
    expect(flattenErrors(body)).toEqual({ "collection_rules.0.n": "Too small." });
  });

  it("gives a nested 400 a readable message instead of 'Request failed (HTTP 400)'", () => {
    // The admin page showed "Request failed (HTTP 400) (HTTP 400)" for a bad rule.
    const body = { collection_rules: [{ kind: ['"sometimes" is not a valid choice.'] }] };
    expect(errorMessage(400, body)).toBe('collection rules › #1 › kind: "sometimes" is not a valid choice.');
    expect(new ApiError(400, body).message).not.toContain("Request failed");
  });
});
