// What the runtime's shared reads are keyed by (runtime/callback.ts): each callback a new epoch
// and its own context; a callback that ran inside another leaves the outer one its context back,
// under a new epoch (what the inner one read is not the outer one's).
import { callbackEnded, callbackEpoch, callbackStarted, currentContext, effectiveContextChanged } from "../runtime/callback";

describe("callback epoch and context", () => {
  it("gives every callback a new epoch and its own context", () => {
    callbackStarted(7);
    const first = callbackEpoch();
    expect(currentContext()).toBe(7);
    callbackEnded();
    callbackStarted(7);
    expect(callbackEpoch()).not.toBe(first); // the same stream's next callback reads afresh
    effectiveContextChanged(9);
    expect(currentContext()).toBe(9);
    callbackEnded();
  });

  it("gives a callback interrupted by another its context back, under a new epoch", () => {
    callbackStarted(3);
    effectiveContextChanged(4);
    const outer = callbackEpoch();
    callbackStarted(11); // e.g. another plugin of this VM, run by Envoy inside a resume
    expect(currentContext()).toBe(11);
    callbackEnded();
    expect(currentContext()).toBe(4);
    expect(callbackEpoch()).not.toBe(outer);
    callbackEnded();
  });

  it("stays consistent past the nesting it tracks: the context is unknown (0) there", () => {
    for (let i: u32 = 1; i <= 10; i++) callbackStarted(i);
    callbackEnded(); // back in the 9th: deeper than tracked
    expect(currentContext()).toBe(0);
    for (let i = 0; i < 8; i++) callbackEnded();
    expect(currentContext()).toBe(1); // the outermost, tracked
    callbackEnded();
  });
});
