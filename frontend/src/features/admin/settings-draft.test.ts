import { describe, expect, it } from "vitest";
import { changedKeys, fromDraft, toDraft, type RuleDraft } from "./settings-draft";
import { boundsText } from "./settings-form";
import { metaFromSchema } from "./settings-schema";

const stored = {
  strategy: "detection_max",
  batch_diversity: true,
  lease_minutes: 10,
  val_fraction: 0.15,
  stream_hard_cap: null,
  collection_rules: [{ kind: "low_confidence", threshold: 0.4, per_day: 100 }],
};

describe("settings draft", () => {
  it("round-trips the stored settings, rules included", () => {
    const { settings, errors } = fromDraft(toDraft(stored));
    expect(errors).toEqual({});
    expect(settings.lease_minutes).toBe(10);
    expect(settings.stream_hard_cap).toBeNull();
    expect(settings.collection_rules).toEqual([{ kind: "low_confidence", threshold: 0.4, per_hour: null, per_day: 100 }]);
    expect(changedKeys(settings, stored)).not.toHaveProperty("lease_minutes");
  });

  it("edits the review and consensus settings", () => {
    const before = { review_mode: "all", review_share: 0.2, consensus_share: 0, collection_rules: [] };
    const draft = toDraft(before);
    expect(draft.consensus_share).toBe("0");
    draft.consensus_share = "0.25";
    draft.review_mode = "suspects";
    const { settings } = fromDraft(draft);
    expect(changedKeys(settings, before)).toEqual({
      review_mode: "suspects",
      consensus_share: 0.25,
    });
  });

  it("sends a rule only the parameters its kind reads", () => {
    const draft = toDraft(stored);
    const rule: RuleDraft = { kind: "random_1_in_n", n: "25", threshold: "0.4", epsilon: "", per_hour: "5", per_day: "" };
    draft.collection_rules = [rule];
    expect(fromDraft(draft).settings.collection_rules).toEqual([{ kind: "random_1_in_n", n: 25, per_hour: 5, per_day: null }]);
  });

  it("reports what is not a number at its path before asking the server", () => {
    const draft = toDraft(stored);
    draft.lease_minutes = "ten";
    draft.collection_rules = [{ kind: "random_1_in_n", n: "", threshold: "", epsilon: "", per_hour: "x", per_day: "" }];
    expect(fromDraft(draft).errors).toEqual({
      lease_minutes: "Enter a number.",
      "collection_rules.0.n": "Enter a number.",
      "collection_rules.0.per_hour": "Enter a number.",
    });
  });

  it("reads help text, bounds and enum choices from the OpenAPI schema", () => {
    const document = {
      components: {
        schemas: {
          StrategyEnum: { enum: ["random", "margin"] },
          ProjectSettings: {
            properties: {
              lease_minutes: { type: "integer", minimum: 1, maximum: 1440, description: "How long." },
              strategy: { allOf: [{ $ref: "#/components/schemas/StrategyEnum" }], description: "Default by task.\n\n* `random` - random" },
            },
          },
        },
      },
    };
    const meta = metaFromSchema(document, "ProjectSettings");
    expect(meta.lease_minutes).toMatchObject({ help: "How long.", min: 1, max: 1440, integer: true });
    expect(meta.strategy).toMatchObject({ help: "Default by task.", choices: ["random", "margin"] });
    expect(boundsText(meta.lease_minutes, "minutes")).toBe("Range 1–1440 minutes.");
    expect(boundsText({ min: 0 }, "labels")).toBe("");
    expect(boundsText({ min: 1 })).toBe("At least 1.");
  });
});
