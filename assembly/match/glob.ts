// Path globs: `*` matches within one segment (not '/'), `**` matches across segments,
// `?` matches one character other than '/'. Matching is linear in practice: it backtracks
// only to the most recent star (and, when a single-segment star cannot cross a '/', to the
// most recent `**`), the classic greedy wildcard algorithm extended to two star kinds.

const STAR: u16 = 0x2a;
const QMARK: u16 = 0x3f;
const SLASH: u16 = 0x2f;

export function globMatches(pattern: string, text: string): bool {
  const pn = pattern.length;
  const tn = text.length;
  let p = 0;
  let t = 0;
  let starP = -1; // pattern index of the latest star
  let starT = 0; // text index the latest star currently extends to
  let starDouble = false;
  let dstarP = -1; // pattern index of the latest `**`
  let dstarT = 0;
  while (t < tn) {
    if (p < pn) {
      const pc = <u16>pattern.charCodeAt(p);
      if (pc == STAR) {
        const isDouble = p + 1 < pn && <u16>pattern.charCodeAt(p + 1) == STAR;
        starP = p;
        starT = t;
        starDouble = isDouble;
        if (isDouble) {
          dstarP = p;
          dstarT = t;
        }
        p += isDouble ? 2 : 1;
        continue;
      }
      const tc = <u16>text.charCodeAt(t);
      if (pc == tc || (pc == QMARK && tc != SLASH)) {
        p++;
        t++;
        continue;
      }
    }
    // Mismatch: let the latest star swallow one more character, if it may.
    if (starP >= 0 && (starDouble || <u16>text.charCodeAt(starT) != SLASH)) {
      starT++;
      t = starT;
      p = starP + (starDouble ? 2 : 1);
      continue;
    }
    if (dstarP >= 0) {
      dstarT++;
      starP = dstarP;
      starT = dstarT;
      starDouble = true;
      t = dstarT;
      p = dstarP + 2;
      continue;
    }
    return false;
  }
  while (p < pn && <u16>pattern.charCodeAt(p) == STAR) p++;
  return p == pn;
}
