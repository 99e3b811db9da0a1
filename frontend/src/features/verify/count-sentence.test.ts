import { describe, expect, it } from "vitest";
import { countSentence, pluralize, totalCount } from "./count-sentence";

describe("countSentence", () => {
  it("says what the model counted", () => {
    expect(countSentence({ pill: 12 })).toBe("The model counted 12 pills");
    expect(countSentence({ pill: 1 })).toBe("The model counted 1 pill");
    expect(countSentence({ pill: 2, capsule: 3, battery: 2 })).toBe("The model counted 2 pills, 3 capsules and 2 batteries");
    expect(countSentence({ pill: 0 })).toBe("The model found nothing");
    expect(totalCount({ a: 2, b: 3 })).toBe(5);
  });
  it("pluralizes simply", () => {
    expect(pluralize("box", 2)).toBe("boxes");
    expect(pluralize("pills", 2)).toBe("pills");
  });
});

describe("class names in the sentence", () => {
  it("reads snake_case names as words", () => {
    expect(countSentence({ brown_box: 3 })).toBe("The model counted 3 brown boxes");
  });
});
